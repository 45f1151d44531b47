// Tables of the application that a memory table was made part of: a partitioned table it was attached
// to (`alter table app_logs attach partition memory_logs …`), a parent it inherits from (`alter table
// memory_logs inherit app_events`). The memory table depends on that parent, not the other way round,
// so dependents.ts does not see it, and DROP TABLE detaches it without a word: the application's
// partitioned table loses the partition, its parent's queries the rows. Each stops the rollback, named
// with the statement that detaches it.
import type { SqlClient } from "../db/client";
import type { Dependent } from "./dependents";
import type { RecordedObject } from "./ownership";

/** The parents of recorded tables that are not recorded tables themselves. */
export async function attachedParents(client: SqlClient, records: RecordedObject[]): Promise<Dependent[]> {
    const tables = records.filter((record) => record.kind === "table");
    if (tables.length === 0) {
        return [];
    }
    const result = await client.query<Dependent>(
        `with recorded as (select to_regclass(format('%I.%I', t.schema, t.name)) as oid from unnest($1::text[], $2::text[]) t(schema, name))
         select format('table %I.%I', pn.nspname, p.relname) as object,
                format('table %I.%I, its %s', cn.nspname, c.relname, case when c.relispartition then 'partition' else 'child' end) as on,
                case when c.relispartition then format('alter table %I.%I detach partition %I.%I', pn.nspname, p.relname, cn.nspname, c.relname)
                     else format('alter table %I.%I no inherit %I.%I', cn.nspname, c.relname, pn.nspname, p.relname) end as fix
           from pg_inherits h
           join pg_class c on c.oid = h.inhrelid join pg_namespace cn on cn.oid = c.relnamespace
           join pg_class p on p.oid = h.inhparent join pg_namespace pn on pn.oid = p.relnamespace
          where h.inhrelid in (select oid from recorded) and h.inhparent not in (select oid from recorded where oid is not null)
          order by 1`,
        [tables.map((table) => table.schema), tables.map((table) => table.name)],
    );
    return result.rows;
}
