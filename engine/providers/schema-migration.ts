// The SchemaMigration dynamic provider's implementation, in plain TypeScript. resource.ts holds only a
// small stub that Pulumi serializes; the stub loads this file from the project directory when the
// engine calls it, so what runs in the provider host is this code, typechecked and tested directly.
//
//   diff   → compares the schema checksum, variant, connection and rollback data: no database needed.
//            Also a change: state written by an older provider (stateVersion), or a refresh that
//            found drift (`missing`, or a ledger that no longer matches)
//   create → waits for the server (readiness barrier), applies every pending migration, then
//            repairs drift (engine/migrate/repair.ts)
//   update → the same: applies what is pending (nothing when only the connection or options changed)
//            and re-creates missing objects
//   read   → `pulumi refresh`: reads the ledger and which of the schema's objects exist; outputs the
//            checksum and applied migrations as the ledger has them and the objects `missing`, so
//            the next diff reports a change when the database drifted
//   delete → the rollback, from the outputs saved at the last up (docs: README, Rolling back); "already gone" is success
//
// Drift, decided: the next `up` repairs it. After a refresh found objects missing (a manual
// `drop index`), update re-runs only the applied migrations that create them — every migration is
// idempotent (guarded DDL) — under the migration lock, each in its own transaction; the ledger is
// unchanged. A ledger row deleted by hand changes the refreshed checksum, and update applies that
// migration again. What no migration re-creates (a dropped primary key) fails the up naming it.
// Without a refresh a no-op up does not look (diff needs no database), and Verification fails it.
import type { Client } from "pg";
import { connect, withClient } from "../db/client";
import { describeError } from "../db/errors";
import type { ConnectionSettings } from "../db/url";
import { waitForDatabase } from "../db/readiness";
import { applyMigrations, readLedger, rollbackSchema, type MigrationFile } from "../migrate/index";
import { schemaChecksum } from "../migrate/render";
import { applySearchSettings, type SearchSettings } from "../migrate/search-settings";
import { missingObjects } from "../migrate/repair";
import { refuseNewerState } from "./state-version";

/** The provider's inputs, resolved: what the program sends on every up. */
export interface SchemaMigrationInputs {
    /** Direct connection to the database (never the pooler); secret. */
    connection: ConnectionSettings;
    /** The rendered migrations, in order. */
    migrations: MigrationFile[];
    /** schemaChecksum(migrations): the one value diff compares for the schema itself. */
    checksum: string;
    /** describeVariant(options), recorded in the ledger. */
    variant: string;
    /** The rendered rollback SQL, kept in state for delete. */
    rollbackSql: string;
    /** The memory tables the data guard counts. */
    memoryTables: string[];
    /** Let delete drop memory tables that hold rows. */
    allowDataLoss: boolean;
    /** How long create/update wait for the server to answer. */
    readinessTimeoutMs: number;
    /** Every object the schema creates (repair.ts schemaObjects): what refresh looks for and update re-creates. */
    objects: string[];
    /** The stack's pgvector search settings, set on the database after the migrations; absent when none is given. */
    searchSettings?: SearchSettings;
}

/** The shape of the outputs this code writes; state with an older one is updated on the next up. */
export const STATE_VERSION = 3;

/** The provider's outputs: everything delete needs, because it runs from state alone. */
export interface SchemaMigrationOutputs {
    /**
     * Shape of these outputs and their stub: 1 had no objects and no missing; 2's stub loaded components/schema/provider.ts
     * through tsx; 3's loads memory-stack/providers by name. An older one is updated on the next up.
     */
    stateVersion: typeof STATE_VERSION;
    connection: ConnectionSettings;
    /** The last migration applied. */
    version: string;
    checksum: string;
    variant: string;
    /** Every applied migration, in order. */
    appliedMigrations: string[];
    rollbackSql: string;
    memoryTables: string[];
    allowDataLoss: boolean;
    readinessTimeoutMs: number;
    objects: string[];
    searchSettings?: SearchSettings;
    /** Objects a refresh found missing from the database; always empty after create/update. */
    missing: string[];
}

/** Inputs whose change is an update. None is ever a replacement: deleting this resource is the rollback. */
const COMPARED: (keyof SchemaMigrationInputs & keyof SchemaMigrationOutputs)[] = [
    "checksum",
    "variant",
    "connection",
    "rollbackSql",
    "memoryTables",
    "allowDataLoss",
    "readinessTimeoutMs",
    "objects",
    "searchSettings",
];

export const RESOURCE_ID = "memory-stack-schema";
const RESOURCE = "the memory schema (SchemaMigration)";

export function diff(
    _id: string,
    olds: Partial<SchemaMigrationOutputs>,
    news: SchemaMigrationInputs,
): { changes: boolean; replaces: string[]; deleteBeforeReplace: boolean } {
    const changed = COMPARED.filter((key) => canonical(olds[key]) !== canonical(news[key]));
    const drifted = (olds.missing ?? []).length > 0;
    refuseNewerState(RESOURCE, olds, STATE_VERSION);
    const olderState = olds.stateVersion !== STATE_VERSION;
    return { changes: changed.length > 0 || drifted || olderState, replaces: [], deleteBeforeReplace: false };
}

export async function create(inputs: SchemaMigrationInputs): Promise<{ id: string; outs: SchemaMigrationOutputs }> {
    return { id: RESOURCE_ID, outs: await apply(inputs) };
}

export async function update(
    _id: string,
    olds: Partial<SchemaMigrationOutputs>,
    news: SchemaMigrationInputs,
): Promise<{ outs: SchemaMigrationOutputs }> {
    refuseNewerState(RESOURCE, olds, STATE_VERSION);
    return { outs: await apply(news) };
}

/** Refresh: the ledger and the objects as the database has them; connection and rollback data as in state. */
export async function read(
    id: string,
    olds: Partial<SchemaMigrationOutputs>,
): Promise<{ id: string; props: Partial<SchemaMigrationOutputs> }> {
    refuseNewerState(RESOURCE, olds, STATE_VERSION);
    const connection = olds.connection!;
    const client = await connect(connection, { applicationName: "memory-stack-refresh", connectTimeoutMs: 30_000 }).catch(
        (error: unknown) => {
            throw new Error(
                `cannot connect to ${describeTarget(connection)} to refresh the memory schema: ${describeError(error)}. ` +
                    "Start the server and refresh again.",
                { cause: error },
            );
        },
    );
    try {
        // In the order state lists them, so an unchanged ledger gives back exactly the checksum in state.
        const order = new Map((olds.appliedMigrations ?? []).map((name, position) => [name, position]));
        const ledger = (await readLedger(client)).sort((a, b) => (order.get(a.name) ?? Infinity) - (order.get(b.name) ?? Infinity));
        // State written before objects were recorded (stateVersion 1) can only be checked against the ledger.
        const missing = olds.objects ? await missingObjects(client, olds.objects) : [];
        return {
            id,
            props: {
                ...olds,
                // schemaChecksum reads names and checksums only; the ledger has no SQL text.
                checksum: schemaChecksum(ledger.map(({ name, checksum }) => ({ name, checksum, sql: "" }))),
                version: ledger.at(-1)?.name ?? "",
                appliedMigrations: ledger.map((row) => row.name),
                ...(olds.objects ? { missing } : {}),
            },
        };
    } finally {
        await client.end().catch(() => undefined);
    }
}

export async function remove(_id: string, olds: SchemaMigrationOutputs): Promise<void> {
    refuseNewerState(RESOURCE, olds, STATE_VERSION);
    let client: Client;
    try {
        client = await connect(olds.connection, { applicationName: "memory-stack-rollback", connectTimeoutMs: 30_000 });
    } catch (error) {
        if ((error as { code?: string }).code === "3D000") {
            return; // the database itself is gone: nothing of the schema can remain
        }
        throw new Error(
            `cannot connect to ${describeTarget(olds.connection)} to roll back the memory schema: ${describeError(error)}. ` +
                "Start the server and run destroy again; if the database is gone for good, `pulumi state delete` this resource.",
            { cause: error },
        );
    }
    try {
        await rollbackSchema(client, {
            rollbackSql: olds.rollbackSql,
            memoryTables: olds.memoryTables,
            allowDataLoss: olds.allowDataLoss === true,
        });
    } finally {
        await client.end().catch(() => undefined);
    }
}

async function apply(inputs: SchemaMigrationInputs): Promise<SchemaMigrationOutputs> {
    await waitForDatabase(inputs.connection, { timeoutMs: inputs.readinessTimeoutMs });
    return withClient(inputs.connection, { applicationName: "memory-stack-migrate" }, async (client) => {
        // One lock for both: no other apply or rollback can come between the migrations and the repair.
        const result = await applyMigrations(client, inputs.migrations, { variant: inputs.variant, repair: inputs.objects });
        await applySearchSettings(client, inputs.searchSettings ?? {});
        return {
            stateVersion: STATE_VERSION,
            connection: inputs.connection,
            version: result.version ?? "",
            checksum: inputs.checksum,
            variant: inputs.variant,
            appliedMigrations: result.appliedMigrations,
            rollbackSql: inputs.rollbackSql,
            memoryTables: inputs.memoryTables,
            allowDataLoss: inputs.allowDataLoss,
            readinessTimeoutMs: inputs.readinessTimeoutMs,
            objects: inputs.objects,
            ...(inputs.searchSettings ? { searchSettings: inputs.searchSettings } : {}),
            missing: [],
        };
    });
}

function describeTarget(connection: ConnectionSettings): string {
    return `${connection.user}@${connection.host}:${connection.port}/${connection.database}`;
}

// Key order (and absent vs undefined keys) must not make equal values differ: state round-trips through protobuf.
function canonical(value: unknown): string {
    if (Array.isArray(value)) {
        return `[${value.map(canonical).join(",")}]`;
    }
    if (value !== null && typeof value === "object") {
        return `{${Object.keys(value)
            .filter((key) => (value as Record<string, unknown>)[key] !== undefined)
            .sort()
            .map((key) => `${JSON.stringify(key)}:${canonical((value as Record<string, unknown>)[key])}`)
            .join(",")}}`;
    }
    return JSON.stringify(value ?? null);
}
