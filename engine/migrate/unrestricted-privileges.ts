// Privileges on the memory tables that row level security cannot restrict: TRUNCATE empties a table for every user,
// REFERENCES tells which keys exist, and a trigger of a role's own runs as whoever writes next (the owner, in a
// migration's backfill). The privilege list gives them to no role, but default privileges may (`alter default
// privileges … grant all on tables to anon`, as Supabase's do, or `… to public`): they are taken again from every
// grantee but the owner after an apply that created or changed the schema. Verification reports what is left.
import { MEMORY_TABLES } from "./manifest";
import { boundedTransaction } from "./bounded";
import type { MigrationSession } from "./session";

/** The privileges no grantee but the owner may hold on a memory table. */
export const UNRESTRICTED_PRIVILEGES = ["TRUNCATE", "REFERENCES", "TRIGGER"] as const;

/** SQL: per grantee other than the owner ("public" for PUBLIC), the memory tables (`tables`, a name[]) on which it holds one of them directly. */
export const unrestrictedHeld = (
    tables: string,
) => `select case when a.grantee = 0 then 'public' else pg_catalog.quote_ident(r.rolname) end as grantee,
        pg_catalog.array_agg(distinct pg_catalog.quote_ident(c.relname) order by pg_catalog.quote_ident(c.relname)) as tables
   from pg_catalog.pg_class c cross join lateral pg_catalog.aclexplode(c.relacl) a
   left join pg_catalog.pg_roles r on r.oid operator(pg_catalog.=) a.grantee
  where c.relnamespace operator(pg_catalog.=) (select n.oid from pg_catalog.pg_namespace n where n.nspname operator(pg_catalog.=) 'public') and c.relkind operator(pg_catalog.=) 'r'
    and c.relname operator(pg_catalog.=) any (${tables}) and a.grantee operator(pg_catalog.<>) c.relowner
    and a.privilege_type operator(pg_catalog.=) any ('{${UNRESTRICTED_PRIVILEGES.join(",")}}'::pg_catalog.text[])
  group by 1 order by 1`;

/** The revoke statement for `grantee` (quoted, or public) on `tables` (quoted names in public). */
export function revokeUnrestricted(grantee: string, tables: string[]): string {
    return `revoke ${UNRESTRICTED_PRIVILEGES.join(", ").toLowerCase()} on ${tables.map((table) => `public.${table}`).join(", ")} from ${grantee}`;
}

/** Takes them from every grantee but the owner, under the migration lock; returns the grantees they were taken from. */
export async function revokeUnrestrictedUnderLock(session: MigrationSession): Promise<string[]> {
    const held = await session.client.query<{ grantee: string; tables: string[] }>(unrestrictedHeld("$1::pg_catalog.name[]"), [
        MEMORY_TABLES,
    ]);
    if (held.rows.length === 0) {
        return [];
    }
    await boundedTransaction(
        session,
        "revoking TRUNCATE, REFERENCES and TRIGGER on the memory tables",
        "Nothing was revoked.",
        async () => undefined,
        undefined,
        held.rows.map(({ grantee, tables }) => `${revokeUnrestricted(grantee, tables)};`).join("\n"),
        "catalog",
    );
    return held.rows.map((row) => row.grantee);
}
