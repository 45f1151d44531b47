// The migration ledger: one row per applied migration in memory_stack.migrations, written in the
// same transaction as the migration itself, so the ledger and the schema cannot disagree.
import type { SqlClient } from "../db/client";

export type { SqlClient };

export const LEDGER_SCHEMA = "memory_stack";
export const LEDGER_TABLE = `${LEDGER_SCHEMA}.migrations`;

export interface LedgerRow {
    name: string;
    checksum: string;
    /** The variant the migration was rendered for, e.g. "jsonb" or "vector(1536,hnsw)". */
    variant: string;
    appliedAt: Date;
    durationMs: number;
}

const CREATE_LEDGER = [
    `create schema if not exists ${LEDGER_SCHEMA}`,
    `create table if not exists ${LEDGER_TABLE} (
        name text primary key,
        checksum text not null,
        variant text not null,
        applied_at timestamptz not null default now(),
        duration_ms integer not null check (duration_ms >= 0)
    )`,
    `comment on table ${LEDGER_TABLE} is 'memory-stack migrations applied to this database (one row per file, written in the migration''s own transaction)'`,
];

/** Removes the ledger; run inside the rollback's transaction. The schema goes too once nothing else is in it. */
export const DROP_LEDGER_SQL = `
    drop table if exists ${LEDGER_TABLE};
    drop table if exists ${LEDGER_SCHEMA}.migration_steps; -- steps of an unfinished migration (step-ledger.ts)
    do $$ begin
        drop schema if exists ${LEDGER_SCHEMA};
    exception when dependent_objects_still_exist then
        null; -- something else lives in the schema: not ours to drop
    end $$;
`;

export async function ledgerExists(client: SqlClient): Promise<boolean> {
    const result = await client.query<{ found: boolean }>(`select to_regclass('${LEDGER_TABLE}') is not null as found`);
    return result.rows[0].found;
}

/** Creates the ledger only when it is missing, so an apply with nothing to do sends no DDL at all. */
export async function ensureLedger(client: SqlClient): Promise<void> {
    if (await ledgerExists(client)) {
        return;
    }
    for (const statement of CREATE_LEDGER) {
        await client.query(statement);
    }
}

/** The applied migrations in the order they were applied; empty when there is no ledger yet. */
export async function readLedger(client: SqlClient): Promise<LedgerRow[]> {
    return (await ledgerExists(client)) ? selectLedger(client) : [];
}

/** The ledger's rows; the ledger must exist. */
export async function selectLedger(client: SqlClient): Promise<LedgerRow[]> {
    const result = await client.query<{ name: string; checksum: string; variant: string; applied_at: Date; duration_ms: number }>(
        `select name, checksum, variant, applied_at, duration_ms from ${LEDGER_TABLE} order by name`,
    );
    return result.rows.map((row) => ({
        name: row.name,
        checksum: row.checksum,
        variant: row.variant,
        appliedAt: row.applied_at,
        durationMs: row.duration_ms,
    }));
}

export async function recordMigration(
    client: SqlClient,
    row: { name: string; checksum: string; variant: string; durationMs: number },
): Promise<void> {
    await client.query(`insert into ${LEDGER_TABLE} (name, checksum, variant, duration_ms) values ($1, $2, $3, $4)`, [
        row.name,
        row.checksum,
        row.variant,
        Math.round(row.durationMs),
    ]);
}
