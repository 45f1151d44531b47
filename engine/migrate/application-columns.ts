// Columns the application added to a memory table (`alter table sessions add column tenant_id uuid`).
// A column is part of its table, with no pg_depend row, so dependents.ts cannot see it and DROP TABLE
// takes it without a word; yet it is the application's, like its index on that table, which does stop
// the rollback. The stack's columns are the manifest's (of either variant) and those its migrations
// recorded (the derived embedding columns, a switch's new column); any other column on a memory table
// the stack created is named, with the other dependents. The stack-created users is left out: the
// manifest lists only the columns the memory schema relies on, and its rows stop the rollback anyway.
import type { SqlClient } from "../db/client";
import type { Dependent } from "./dependents";
import { EMBEDDING_DERIVED, TABLE_COLUMNS } from "./manifest";
import type { RecordedObject } from "./ownership";

const DERIVED: Readonly<Record<string, readonly string[]>> = EMBEDDING_DERIVED.columns;

/** The columns of the recorded memory tables that neither the manifest nor a record gives to the stack. */
export async function applicationColumns(client: SqlClient, records: RecordedObject[]): Promise<Dependent[]> {
    const tables = records.filter((record) => record.kind === "table" && record.schema === "public" && record.name !== "users");
    const known = tables.filter((record) => TABLE_COLUMNS[record.name] !== undefined);
    if (known.length === 0) {
        return [];
    }
    const result = await client.query<{ table: string; column: string; object: string; on: string; fix: string }>(
        `select c.relname as table, a.attname as column,
                format('column %I of table %I.%I', a.attname, n.nspname, c.relname) as object,
                format('table %I.%I', n.nspname, c.relname) as on,
                format('alter table %I.%I drop column %I', n.nspname, c.relname, a.attname) as fix
           from unnest($1::text[]) t(name)
           join pg_class c on c.oid = to_regclass(format('public.%I', t.name))
           join pg_namespace n on n.oid = c.relnamespace
           join pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
          order by c.relname, a.attnum`,
        [known.map((record) => record.name)],
    );
    const recorded = new Set(
        records.filter((record) => record.kind === "column" && record.schema === "public").map((r) => `${r.parent}.${r.name}`),
    );
    return result.rows
        .filter(
            (row) =>
                !TABLE_COLUMNS[row.table].includes(row.column) &&
                !(DERIVED[row.table] ?? []).includes(row.column) &&
                !recorded.has(`${row.table}.${row.column}`),
        )
        .map(({ object, on, fix }) => ({ object, on, fix }));
}
