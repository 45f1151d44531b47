// Columns a run added to tables that were there before it, or dropped from them (the switch to vector drops 0013's
// derived columns and turns goal_vector_new into goal_vector). Such a table's row type changed under the application's
// open connections: a statement one of them prepared with `select *` (or `… returning *`) before the run fails with
// "cached plan must not change result type" on every later execution on that connection, until it prepares again.
import type { RecordedObject } from "./ownership";

export interface ChangedColumns {
    /** schema.table */
    table: string;
    columns: string[];
    /** Columns the stack had added to it before this run and that this run dropped (or renamed). */
    dropped?: string[];
    /** The migrations of this run that added them; with only drops, every migration of the run. */
    migrations: string[];
}

/**
 * From the records as they stand after the run: columns `applied` added to a table none of them created; and with the
 * records as they stood before it, the recorded columns it dropped from a table that is still there.
 */
export function columnsChangedOnExisting(records: RecordedObject[], applied: string[], before: RecordedObject[] = []): ChangedColumns[] {
    const ran = new Set(applied);
    const createdNow = new Set(
        records.filter((record) => record.kind === "table" && ran.has(record.migration)).map((record) => `${record.schema}.${record.name}`),
    );
    const byTable = new Map<string, ChangedColumns>();
    for (const record of records) {
        const table = `${record.schema}.${record.parent}`;
        if (record.kind !== "column" || !ran.has(record.migration) || createdNow.has(table)) {
            continue;
        }
        const entry = byTable.get(table) ?? { table, columns: [], migrations: [] };
        entry.columns.push(record.name);
        if (!entry.migrations.includes(record.migration)) {
            entry.migrations.push(record.migration);
        }
        byTable.set(table, entry);
    }
    const now = new Set(records.map((record) => record.identity));
    const tablesGone = new Set(
        before.filter((record) => record.kind === "table" && !now.has(record.identity)).map((record) => `${record.schema}.${record.name}`),
    );
    for (const record of before) {
        const table = `${record.schema}.${record.parent}`;
        if (record.kind !== "column" || now.has(record.identity) || tablesGone.has(table) || createdNow.has(table)) {
            continue;
        }
        const entry = byTable.get(table) ?? { table, columns: [], migrations: [...ran] };
        entry.dropped = [...(entry.dropped ?? []), record.name];
        byTable.set(table, entry);
    }
    return [...byTable.values()]
        .sort((a, b) => a.table.localeCompare(b.table))
        .map((entry) => ({ ...entry, columns: entry.columns.sort(), ...(entry.dropped ? { dropped: entry.dropped.sort() } : {}) }));
}

/**
 * The columns a repair re-created on tables it did not re-create (`missing`: the records missing before it): such a
 * table's row type changed under the application's connections as an added column's does.
 */
export function columnsRecreated(missing: RecordedObject[]): ChangedColumns[] {
    const tablesMissing = new Set(missing.filter((record) => record.kind === "table").map((record) => `${record.schema}.${record.name}`));
    const columns = missing.filter((record) => record.kind === "column" && !tablesMissing.has(`${record.schema}.${record.parent}`));
    return merged(
        columns.map((record) => ({ table: `${record.schema}.${record.parent}`, columns: [record.name], migrations: [record.migration] })),
    );
}

/** One entry per table, in table order, its columns and migrations put together. */
export function merged(changes: ChangedColumns[]): ChangedColumns[] {
    const byTable = new Map<string, ChangedColumns>();
    for (const change of changes) {
        const entry = byTable.get(change.table);
        if (entry === undefined) {
            byTable.set(change.table, { ...change, columns: [...change.columns], migrations: [...change.migrations] });
            continue;
        }
        entry.columns = [...new Set([...entry.columns, ...change.columns])].sort();
        entry.migrations = [...new Set([...entry.migrations, ...change.migrations])];
        if (change.dropped) {
            entry.dropped = [...new Set([...(entry.dropped ?? []), ...change.dropped])].sort();
        }
    }
    return [...byTable.values()].sort((a, b) => a.table.localeCompare(b.table));
}

/** One line for the run's output, or none. */
export function describeChangedColumns(changed: ChangedColumns[]): string[] {
    if (changed.length === 0) {
        return [];
    }
    const migrations = [...new Set(changed.flatMap((entry) => entry.migrations))];
    return [
        `${migrations.join(", ")} ${changed.some((entry) => entry.dropped) ? "changed the columns of" : "added columns to"} ` +
            `${changed.map((entry) => `${entry.table} (${describeChange(entry)})`).join(", ")}: ` +
            'a connection that prepared `select *` or `… returning *` on them before this run gets "cached plan must not change result type" ' +
            "until it prepares again (node-postgres named queries, pgjdbc, psycopg's prepare_threshold, PgBouncer's max_prepared_statements); " +
            "recycle the application's connection pools, or name the columns in such statements",
    ];
}

/** "a, b" where only columns were added; "added a; dropped b" otherwise. */
function describeChange({ columns, dropped }: ChangedColumns): string {
    if (dropped === undefined) {
        return columns.join(", ");
    }
    return [columns.length > 0 ? `added ${columns.join(", ")}` : "", `dropped ${dropped.join(", ")}`].filter(Boolean).join("; ");
}
