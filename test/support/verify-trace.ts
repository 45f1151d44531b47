// Everything a verification could leave behind, read in one go so before/after can be compared:
// the rows of every table (count and digest), every sequence's position, the ledger, the grants
// on every relation and the role memberships.
import type { Client } from "pg";

export interface DatabaseTrace {
    rows: Record<string, string>;
    sequences: Record<string, string>;
    ledger: string;
    grants: Record<string, string>;
    memberships: string[];
}

export async function databaseTrace(client: Client): Promise<DatabaseTrace> {
    const tables = await client.query<{ name: string }>(
        `select format('%I.%I', n.nspname, c.relname) as name from pg_class c join pg_namespace n on n.oid = c.relnamespace
         where c.relkind in ('r', 'p') and n.nspname not in ('pg_catalog', 'information_schema') and n.nspname not like 'pg_toast%'
         order by 1`,
    );
    const rows: Record<string, string> = {};
    if (tables.rows.length > 0) {
        const counts = await client.query<{ name: string; trace: string }>(
            tables.rows
                .map(
                    ({ name }) =>
                        `select '${name}' as name, count(*) || ':' || md5(coalesce(string_agg(t::text, '|' order by t::text), '')) as trace from ${name} t`,
                )
                .join(" union all "),
        );
        for (const { name, trace } of counts.rows) rows[name] = trace;
    }
    const sequences = await client.query<{ name: string; position: string }>(
        "select schemaname || '.' || sequencename as name, coalesce(last_value::text, 'unused') as position from pg_sequences order by 1",
    );
    const ledger = await client.query<{ digest: string }>(
        `select case when to_regclass('memory_stack.migrations') is null then 'none'
                else (select count(*) || ':' || md5(coalesce(string_agg(m::text, '|' order by name), '')) from memory_stack.migrations m) end as digest`,
    );
    const grants = await client.query<{ name: string; acl: string }>(
        `select c.relname as name, coalesce(c.relacl::text, 'default') as acl from pg_class c
         where c.relnamespace = 'public'::regnamespace and c.relkind in ('r', 'p', 'v') order by 1`,
    );
    const memberships = await client.query<{ pair: string }>(
        `select r.rolname || ' in ' || g.rolname as pair from pg_auth_members m join pg_roles r on r.oid = m.member join pg_roles g on g.oid = m.roleid
         -- memberships are server-wide: only those of this session's user and of the roles this database's policies name
         where current_user in (r.rolname, g.rolname)
            or exists (select from pg_policy p where m.member = any(p.polroles) or m.roleid = any(p.polroles))
         order by 1`,
    );
    return {
        rows,
        sequences: Object.fromEntries(sequences.rows.map((s) => [s.name, s.position])),
        ledger: ledger.rows[0].digest,
        grants: Object.fromEntries(grants.rows.map((g) => [g.name, g.acl])),
        memberships: memberships.rows.map((m) => m.pair),
    };
}
