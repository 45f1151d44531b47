// The step ledger: which steps of an unfinished migration are done, and how far a batched step got.
// One row per step in memory_stack.migration_steps, written in the step's own transaction (or, for a
// `no transaction` step, right after it), so after a kill the ledger says exactly what is done. A batched
// step that found no row to handle changed nothing: its row goes with the next step's, in that step's
// transaction (step-runner.ts), so it runs again (and finds nothing) only when no later step committed;
// and the table is created with the first row written, so a first apply whose steps changed nothing but
// the last never creates it. When the last step commits, the migration's row goes into
// memory_stack.migrations and its step rows go, in that same transaction: a finished migration is in
// the ledger, an unfinished one only here.
import type { SqlClient } from "../db/client";
import { inlined } from "../db/literal";
import { LEDGER_SCHEMA, LEDGER_TABLE, ledgerInsert, OWNERSHIP_TABLE, readLedger, type LedgerRow } from "./ledger";
import type { SchemaOptions } from "./render";

export const STEP_TABLE = `${LEDGER_SCHEMA}.migration_steps`;

export interface StepRow {
    migration: string;
    step: string;
    /** The migration's checksum when the step ran: a step is only resumed by the same text. */
    checksum: string;
    variant: string;
    /** Rows a batched step has handled so far. */
    rowsDone: number;
    /** The last key a batched step handled (passed to its next batch as $1). */
    cursor: string | null;
    /** False while a batched step is under way. */
    finished: boolean;
    durationMs: number;
}

const CREATE_STEP_LEDGER = [
    `create table if not exists ${STEP_TABLE} (
        migration text not null,
        step text not null,
        checksum text not null,
        variant text not null,
        rows_done bigint not null default 0 check (rows_done >= 0),
        cursor text,
        finished_at timestamptz,
        duration_ms integer not null default 0 check (duration_ms >= 0),
        primary key (migration, step)
    )`,
    `comment on table ${STEP_TABLE} is 'steps done of memory-stack migrations still under way; a migration''s rows go when it is recorded in memory_stack.migrations'`,
];

/** Creates the step ledger where missing, in one statement to send with the first write to it, in that write's transaction. */
export const ENSURE_STEP_LEDGER = `do $ensure$ begin
    if pg_catalog.to_regclass('${STEP_TABLE}') is null then
        ${[`create schema if not exists ${LEDGER_SCHEMA}`, ...CREATE_STEP_LEDGER].join(";\n")};
    end if;
end $ensure$`;

/** SQL: whether the step ledger exists (column memory_stack_step_ledger), to send with a transaction's begin. */
export const STEP_LEDGER_EXISTS = `select pg_catalog.to_regclass('${STEP_TABLE}') is not null as memory_stack_step_ledger`;

/** Both ledgers, with one round trip to ask which of them exist, and whether the ownership table does (readRecords' `exists`). */
export async function readLedgers(client: SqlClient): Promise<{ ledger: LedgerRow[]; steps: StepRow[]; recordsTable: boolean }> {
    const found = await client.query<{ ledger: boolean; steps: boolean; records: boolean }>(
        `select to_regclass('${LEDGER_TABLE}') is not null as ledger, to_regclass('${STEP_TABLE}') is not null as steps,
                to_regclass('${OWNERSHIP_TABLE}') is not null as records`,
    );
    const [{ ledger, steps, records }] = found.rows;
    return { ledger: await readLedger(client, ledger), steps: await readStepLedger(client, steps), recordsTable: records };
}

/** Every step row, in migration and step order of completion; empty when no stepped migration ever ran here. `exists`: as readLedger's. */
export async function readStepLedger(client: SqlClient, exists?: boolean): Promise<StepRow[]> {
    if (!(exists ?? (await client.query<{ found: boolean }>(`select to_regclass('${STEP_TABLE}') is not null as found`)).rows[0].found)) {
        return [];
    }
    const result = await client.query<{
        migration: string;
        step: string;
        checksum: string;
        variant: string;
        rows_done: string;
        cursor: string | null;
        finished: boolean;
        duration_ms: number;
    }>(
        `select migration, step, checksum, variant, rows_done, cursor, finished_at is not null as finished, duration_ms
           from ${STEP_TABLE} order by migration, finished_at nulls last, step`,
    );
    return result.rows.map((row) => ({
        migration: row.migration,
        step: row.step,
        checksum: row.checksum,
        variant: row.variant,
        rowsDone: Number(row.rows_done),
        cursor: row.cursor,
        finished: row.finished,
        durationMs: row.duration_ms,
    }));
}

// The writes below go with the COMMIT of the step's transaction, in its round trip: a simple query, so their values
// are literals (inlined), not parameters.

/** A step's progress (finished or not), as a statement of the step's transaction. */
export function recordStepStatement(row: StepRow): string {
    return inlined(
        `insert into ${STEP_TABLE} (migration, step, checksum, variant, rows_done, cursor, finished_at, duration_ms)
         values ($1, $2, $3, $4, $5, $6, case when $7 then pg_catalog.now() end, $8)
         on conflict (migration, step) do update
            set rows_done = excluded.rows_done, cursor = excluded.cursor, finished_at = excluded.finished_at,
                duration_ms = ${STEP_TABLE}.duration_ms + excluded.duration_ms`,
        [row.migration, row.step, row.checksum, row.variant, row.rowsDone, row.cursor, row.finished, Math.round(row.durationMs)],
    );
}

/**
 * The finished migration recorded and its steps forgotten, as one statement of the last step's transaction; `steps`:
 * whether the step ledger exists (without it, no step of the migration is recorded there and its row alone is written).
 */
export function finishMigrationStatement(
    migration: { name: string; checksum: string },
    variant: string,
    options: SchemaOptions | undefined,
    stepsDurationMs: number,
    steps = true,
    stack?: string,
): string {
    const { text, values } = ledgerInsert(
        { name: migration.name, checksum: migration.checksum, variant, options, durationMs: stepsDurationMs, stack },
        steps ? "select coalesce(sum(duration_ms), 0) from steps" : undefined,
    )(1);
    return inlined(steps ? `with steps as (delete from ${STEP_TABLE} where migration = $1 returning duration_ms) ${text}` : text, values);
}
