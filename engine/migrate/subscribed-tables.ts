// Memory tables an application's subscription replicates into (`create subscription … publication p`, p on
// another server publishing a goal_assessments). A subscription's tables are pg_subscription_rel rows, not
// pg_depend ones, so dependents.ts does not see them, and DROP TABLE takes the table out of the subscription
// without a word. Each stops the rollback; the subscription's tables follow its publication, so the way out
// is on the publisher.
import type { SqlClient } from "../db/client";
import type { Dependent } from "./dependents";
import type { RecordedObject } from "./ownership";

/** The subscriptions of this database that replicate into a recorded table. */
export async function subscribedTables(client: SqlClient, records: RecordedObject[]): Promise<Dependent[]> {
    const tables = records.filter((record) => record.kind === "table");
    if (tables.length === 0) {
        return [];
    }
    const result = await client.query<Dependent>(
        `select format('table %I.%I in subscription %I', n.nspname, c.relname, s.subname) as object,
                format('table %I.%I', n.nspname, c.relname) as on,
                format('take the table out of the publication subscription %I subscribes to, on its publisher, then alter subscription %I refresh publication',
                       s.subname, s.subname) as fix
           from pg_subscription_rel r
           join pg_subscription s on s.oid = r.srsubid
           join pg_class c on c.oid = r.srrelid join pg_namespace n on n.oid = c.relnamespace
          where r.srrelid in (select to_regclass(format('%I.%I', t.schema, t.name)) from unnest($1::text[], $2::text[]) t(schema, name))
          order by 1`,
        [tables.map((table) => table.schema), tables.map((table) => table.name)],
    );
    return result.rows;
}
