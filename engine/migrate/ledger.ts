// The migration ledger: one row per applied migration in memory_stack.migrations, written in the
// same transaction as the migration itself, so the ledger and the schema cannot disagree. Beside it,
// memory_stack.created_objects records every object each migration created (ownership.ts).
import type { SqlClient } from "../db/client";
import type { SchemaOptions } from "./render";

export type { SqlClient };

export const LEDGER_SCHEMA = "memory_stack";
export const LEDGER_TABLE = `${LEDGER_SCHEMA}.migrations`;
export const OWNERSHIP_TABLE = `${LEDGER_SCHEMA}.created_objects`;
/** The pgvector settings the stack set on the database (search-settings.ts), for rollback.sql to reset. */
export const SEARCH_SETTINGS_TABLE = `${LEDGER_SCHEMA}.search_settings`;

export interface LedgerRow {
    name: string;
    checksum: string;
    /** The variant the migration was rendered for, e.g. "jsonb" or "vector(1536,hnsw)". */
    variant: string;
    /** The schema options it was rendered with; undefined in rows written by releases 1 and 2. */
    options?: SchemaOptions;
    /** What it created is in memory_stack.created_objects (false only in rows of releases 1 and 2 not yet adopted). */
    recorded: boolean;
    appliedAt: Date;
    durationMs: number;
    /** The Pulumi stack whose schema resource applied it or took the database over (deployed-by.ts); undefined: the CLI, or an older release. */
    stack?: string;
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

// Releases 1 and 2 wrote the ledger without these columns: added on their first apply or rollback.
const UPGRADE_LEDGER = [
    `alter table ${LEDGER_TABLE} add column if not exists options jsonb`,
    `alter table ${LEDGER_TABLE} add column if not exists recorded boolean not null default false`,
    `create table if not exists ${OWNERSHIP_TABLE} (
        position integer primary key,
        migration text not null,
        kind text not null,
        identity text not null unique,
        schema_name text,
        name text not null,
        parent text,
        arguments text,
        adopted boolean not null default false
    )`,
    `comment on table ${OWNERSHIP_TABLE} is 'Every object a memory-stack migration created, recorded in that migration''s transaction; rollback drops these and nothing else, newest first'`,
    // Ownership by the object itself (identity.ts); records written before these columns keep nulls: ownership by identity.
    `alter table ${OWNERSHIP_TABLE} add column if not exists oid bigint, add column if not exists origin text`,
    `comment on column ${OWNERSHIP_TABLE}.origin is 'where oid means something: <system identifier>/<database oid>; elsewhere (a restore, pg_upgrade) the identity alone counts'`,
    `alter table ${LEDGER_TABLE} add column if not exists stack text`,
    `comment on column ${LEDGER_TABLE}.stack is 'the Pulumi stack (project/stack) that deployed this database''s memory schema; null: applied by the CLI or a release before stacks were recorded'`,
];

export async function ledgerExists(client: SqlClient): Promise<boolean> {
    const result = await client.query<{ found: boolean }>(`select to_regclass('${LEDGER_TABLE}') is not null as found`);
    return result.rows[0].found;
}

/**
 * SQL: true when the ledger and the ownership table exist in today's shape. It runs on the engine's search_path (ENSURE_LEDGER
 * goes with a migration's begin): pg_catalog has no =(oid, regclass), so an exact one planted in public would win over its
 * =(oid, oid); the operators are pg_catalog's by name.
 */
const LEDGER_CURRENT = `exists (select from pg_catalog.pg_attribute where attrelid operator(pg_catalog.=) pg_catalog.to_regclass('${OWNERSHIP_TABLE}')::pg_catalog.oid
                                 and attname operator(pg_catalog.=) 'origin'::pg_catalog.name and not attisdropped)
            and exists (select from pg_catalog.pg_attribute where attrelid operator(pg_catalog.=) pg_catalog.to_regclass('${LEDGER_TABLE}')::pg_catalog.oid
                                 and attname operator(pg_catalog.=) 'stack'::pg_catalog.name and not attisdropped)`;

/** Creates or upgrades the ledger only when needed, so an apply with nothing to do sends no DDL at all. */
export async function ensureLedger(client: SqlClient): Promise<void> {
    if ((await client.query<{ current: boolean }>(`select ${LEDGER_CURRENT} as current`)).rows[0].current) {
        return;
    }
    await client.query([...CREATE_LEDGER, ...UPGRADE_LEDGER].join(";\n"));
}

/** ensureLedger as one statement, to send with a transaction's begin (step-runner.ts) rather than in round trips of its own. */
export const ENSURE_LEDGER = `do $ensure$ begin
    if not (${LEDGER_CURRENT}) then
        ${[...CREATE_LEDGER, ...UPGRADE_LEDGER].join(";\n")};
    end if;
end $ensure$`;

/**
 * The applied migrations in name order; empty when there is no ledger yet. Reads the ledger of every release without changing it.
 * `exists`: whether the ledger table exists, when the caller asked already.
 */
export async function readLedger(client: SqlClient, exists?: boolean): Promise<LedgerRow[]> {
    if (!(exists ?? (await ledgerExists(client)))) {
        return [];
    }
    // to_jsonb(row): the columns releases 1 and 2 did not have read as null instead of failing.
    const result = await client.query<{
        name: string;
        checksum: string;
        variant: string;
        options: SchemaOptions | null;
        recorded: boolean | null;
        applied_at: string;
        duration_ms: number;
        stack: string | null;
    }>(
        // applied_at as JSON writes it (ISO 8601 whatever the DateStyle): pg's parser reads only ISO, and an application's
        // `alter database … set datestyle = 'SQL, DMY'` made every command after the first apply fail on a null date.
        `select name, checksum, variant, pg_catalog.to_jsonb(m) -> 'options' as options, (pg_catalog.to_jsonb(m) ->> 'recorded')::boolean as recorded,
                pg_catalog.to_jsonb(m) ->> 'applied_at' as applied_at, duration_ms, pg_catalog.to_jsonb(m) ->> 'stack' as stack
           from ${LEDGER_TABLE} m order by name`,
    );
    return result.rows.map((row) => ({
        name: row.name,
        checksum: row.checksum,
        variant: row.variant,
        ...(row.options ? { options: row.options } : {}),
        recorded: row.recorded === true,
        appliedAt: new Date(row.applied_at),
        durationMs: row.duration_ms,
        ...(row.stack === null ? {} : { stack: row.stack }),
    }));
}

/** Legacy ledger rows (not yet recorded), in name order. */
export function legacyRows(ledger: LedgerRow[]): LedgerRow[] {
    return ledger.filter((row) => !row.recorded);
}

export interface MigrationRow {
    name: string;
    checksum: string;
    variant: string;
    options?: SchemaOptions;
    durationMs: number;
    /** The Pulumi stack applying it; undefined: the CLI (the column is left null). */
    stack?: string;
}

/** A parameterized write whose parameters are numbered from `first`, so it can go in another statement (insertRecords). */
export type Write = (first: number) => { text: string; values: unknown[] };

/**
 * SQL, first in the query that sends inlined writes with a migration's commit: refuses the migration when its file
 * changed client_encoding, as the catalog read after its statements then came back in that encoding, names garbled.
 */
export const UTF8_SESSION = `do $$ begin
    if pg_catalog.current_setting('client_encoding') <> 'UTF8' then
        raise exception using errcode = '22023',
            message = pg_catalog.format('the migration set client_encoding to %s: memory-stack reads the catalog and writes its records in UTF8; remove that setting from the file', pg_catalog.current_setting('client_encoding'));
    end if;
end $$`;

/** The ledger row's insert, as a Write; `addedDuration`: an SQL expression added to its duration (the steps' rows it replaces). */
export function ledgerInsert(row: MigrationRow, addedDuration?: string): Write {
    return (first) => ({
        text: `insert into ${LEDGER_TABLE} (name, checksum, variant, options, recorded, duration_ms${row.stack === undefined ? "" : ", stack"})
               values ($${first}, $${first + 1}, $${first + 2}, $${first + 3}, true, $${first + 4}${addedDuration ? ` + (${addedDuration})` : ""}${row.stack === undefined ? "" : `, $${first + 5}`})`,
        values: [
            row.name,
            row.checksum,
            row.variant,
            row.options === undefined ? null : JSON.stringify(row.options),
            Math.round(row.durationMs),
            ...(row.stack === undefined ? [] : [row.stack]),
        ],
    });
}
export async function recordMigration(client: SqlClient, row: MigrationRow): Promise<void> {
    const { text, values } = ledgerInsert(row)(1);
    await client.query(text, values);
}
