// What default privileges give other roles on the tables the stack creates (`alter default privileges … grant all on
// tables to anon`, as Supabase's do, or `… to public`), that the privilege list never gives: on the memory tables,
// TRUNCATE, REFERENCES and TRIGGER, which row level security does not restrict (TRUNCATE empties a table for every
// user, REFERENCES tells which keys exist, a trigger of a role's own runs as whoever writes next, the owner in a
// migration's backfill); on the bookkeeping tables in memory_stack, anything (a record written there makes the
// rollback drop an application's table as the stack's). They are taken from every grantee but the owner after an
// apply that created or re-created objects; verification reports what is left.
import { MEMORY_TABLES } from "./manifest";
import { boundedTransaction } from "./bounded";
import type { MigrationSession } from "./session";
import { LEDGER_TABLES } from "../verify/privileges";

/** The privileges no grantee but the owner may hold on a memory table. */
export const UNRESTRICTED_PRIVILEGES = ["TRUNCATE", "REFERENCES", "TRIGGER"] as const;

export interface Unrestricted {
    /** Quoted, or "public". */
    grantee: string;
    /** Qualified names of the memory tables on which it holds one of UNRESTRICTED_PRIVILEGES. */
    memory: string[];
    /** Qualified names of the bookkeeping tables on which it holds anything. */
    ledger: string[];
}

const IN_SCHEMA = (schema: string, names: readonly string[]) =>
    `(n.nspname operator(pg_catalog.=) '${schema}' and c.relname operator(pg_catalog.=) any ('{${names.join(",")}}'::pg_catalog.name[]))`;

/** SQL: per grantee other than the owner, the memory tables and bookkeeping tables (Unrestricted) on which it holds what it may not, directly. */
export const UNRESTRICTED_HELD = `select case when a.grantee operator(pg_catalog.=) 0 then 'public' else pg_catalog.quote_ident(r.rolname) end as grantee,
        pg_catalog.array_remove(pg_catalog.array_agg(distinct case when n.nspname operator(pg_catalog.=) 'public'
            and a.privilege_type operator(pg_catalog.=) any ('{${UNRESTRICTED_PRIVILEGES.join(",")}}'::pg_catalog.text[])
            then 'public.' operator(pg_catalog.||) pg_catalog.quote_ident(c.relname) end), null) as memory,
        pg_catalog.array_remove(pg_catalog.array_agg(distinct case when n.nspname operator(pg_catalog.=) 'memory_stack'
            then 'memory_stack.' operator(pg_catalog.||) pg_catalog.quote_ident(c.relname) end), null) as ledger
   from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid operator(pg_catalog.=) c.relnamespace
  cross join lateral pg_catalog.aclexplode(c.relacl) a
   left join pg_catalog.pg_roles r on r.oid operator(pg_catalog.=) a.grantee
  where c.relkind operator(pg_catalog.=) 'r' and (${IN_SCHEMA("public", MEMORY_TABLES)} or ${IN_SCHEMA("memory_stack", LEDGER_TABLES)})
    and a.grantee operator(pg_catalog.<>) c.relowner
    and (n.nspname operator(pg_catalog.=) 'memory_stack'
         or a.privilege_type operator(pg_catalog.=) any ('{${UNRESTRICTED_PRIVILEGES.join(",")}}'::pg_catalog.text[]))
  group by 1 order by 1`;

/** The statements that take them from one grantee. */
export function revokeUnrestricted({ grantee, memory, ledger }: Unrestricted): string[] {
    return [
        ...(memory.length > 0
            ? [`revoke ${UNRESTRICTED_PRIVILEGES.join(", ").toLowerCase()} on ${memory.join(", ")} from ${grantee}`]
            : []),
        ...(ledger.length > 0 ? [`revoke all on ${ledger.join(", ")} from ${grantee}`] : []),
    ];
}

/** What one grantee holds, as a report says it. */
export function describeUnrestricted({ memory, ledger }: Unrestricted): string {
    return [
        ...(memory.length > 0 ? [`TRUNCATE, REFERENCES or TRIGGER on ${memory.join(", ")}`] : []),
        ...(ledger.length > 0 ? [`privileges on the stack's bookkeeping tables ${ledger.join(", ")}`] : []),
    ].join(", and ");
}

/** Takes them from every grantee but the owner, under the migration lock; returns the grantees they were taken from. */
export async function revokeUnrestrictedUnderLock(session: MigrationSession): Promise<string[]> {
    const held = await session.client.query<Unrestricted>(UNRESTRICTED_HELD);
    if (held.rows.length === 0) {
        return [];
    }
    await boundedTransaction(
        session,
        "revoking what default privileges gave other roles on the memory tables",
        "Nothing was revoked.",
        async () => undefined,
        undefined,
        held.rows.flatMap((row) => revokeUnrestricted(row).map((statement) => `${statement};`)).join("\n"),
        "catalog",
    );
    return held.rows.map((row) => row.grantee);
}
