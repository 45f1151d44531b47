// Everything a test must find unchanged when the memory schema refuses or rolls back: every object of
// every user schema (with its definition, comment and owner-visible shape), the roles a test names,
// and every row of every table, as one sorted list of lines.
import type { Client } from "pg";

const OBJECTS = `
    with rel as (
        select c.oid, c.relname, c.relkind, n.nspname from pg_class c join pg_namespace n on n.oid = c.relnamespace
         where n.nspname not in ('pg_catalog', 'information_schema', 'pg_toast') and n.nspname not like 'pg\\_temp%' and n.nspname not like 'pg\\_toast\\_temp%'
    )
    select 'schema ' || nspname || ' ' || coalesce(obj_description(oid, 'pg_namespace'), '') as line from pg_namespace
     where nspname not in ('pg_catalog', 'information_schema', 'pg_toast') and nspname not like 'pg\\_temp%' and nspname not like 'pg\\_toast\\_temp%'
    union all select 'extension ' || extname || ' ' || extversion from pg_extension
    union all select 'relation ' || nspname || '.' || relname || ' ' || relkind::text || ' ' || coalesce(obj_description(oid, 'pg_class'), '') from rel
    union all select 'column ' || r.nspname || '.' || r.relname || '.' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod)
                     || ' ' || a.attnotnull || ' ' || coalesce(pg_get_expr(d.adbin, d.adrelid), '') || ' ' || coalesce(col_description(r.oid, a.attnum), '')
                from rel r join pg_attribute a on a.attrelid = r.oid left join pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
               where a.attnum > 0 and not a.attisdropped
    union all select 'constraint ' || r.nspname || '.' || r.relname || ' ' || k.conname || ' ' || pg_get_constraintdef(k.oid)
                from pg_constraint k join rel r on r.oid = k.conrelid
    union all select 'index ' || r.nspname || '.' || r.relname || ' ' || pg_get_indexdef(r.oid) from rel r where r.relkind in ('i', 'I')
    union all select 'view ' || r.nspname || '.' || r.relname || ' ' || pg_get_viewdef(r.oid) from rel r where r.relkind in ('v', 'm')
    union all select 'trigger ' || r.nspname || '.' || r.relname || ' ' || pg_get_triggerdef(t.oid) from pg_trigger t join rel r on r.oid = t.tgrelid where not t.tgisinternal
    union all select 'policy ' || r.nspname || '.' || r.relname || ' ' || p.polname || ' ' || coalesce(pg_get_expr(p.polqual, p.polrelid), '')
                from pg_policy p join rel r on r.oid = p.polrelid
    union all select 'rls ' || r.nspname || '.' || r.relname from rel r join pg_class c on c.oid = r.oid where c.relrowsecurity
    union all select 'function ' || p.oid::regprocedure || ' ' || md5(p.prosrc) || ' ' || coalesce(obj_description(p.oid, 'pg_proc'), '')
                from pg_proc p join pg_namespace n on n.oid = p.pronamespace
               where n.nspname not in ('pg_catalog', 'information_schema')
                 and not exists (select from pg_depend d where d.classid = 'pg_proc'::regclass and d.objid = p.oid and d.deptype = 'e')
    union all select 'type ' || n.nspname || '.' || t.typname || ' ' || t.typtype::text from pg_type t join pg_namespace n on n.oid = t.typnamespace
               where t.typtype in ('e', 'd', 'r') and n.nspname not in ('pg_catalog', 'information_schema')
    union all select 'role ' || rolname || ' ' || rolcanlogin from pg_roles where rolname = any($1)`;

/** Sorted lines: every object and its shape, the given roles, and "rows <table> <count> <md5>" for every table. */
export async function databaseFingerprint(client: Client, roles: string[] = []): Promise<string[]> {
    const objects = (await client.query<{ line: string }>(OBJECTS, [roles])).rows.map((row) => row.line);
    const tables = await client.query<{ name: string }>(
        `select format('%I.%I', n.nspname, c.relname) as name from pg_class c join pg_namespace n on n.oid = c.relnamespace
          where c.relkind in ('r', 'p') and n.nspname not in ('pg_catalog', 'information_schema', 'pg_toast')`,
    );
    const rows =
        tables.rows.length === 0
            ? []
            : (
                  await client.query<{ line: string }>(
                      tables.rows
                          .map(
                              ({ name }) =>
                                  `select 'rows ${name.replace(/'/g, "''")} ' || count(*) || ' ' || md5(coalesce(string_agg(t::text, E'\\n' order by t::text), '')) as line from ${name} t`,
                          )
                          .join(" union all "),
                  )
              ).rows.map((row) => row.line);
    return [...objects, ...rows].sort();
}
