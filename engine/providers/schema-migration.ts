// The SchemaMigration dynamic provider's implementation, in plain TypeScript. components/schema-migration.ts
// holds only a small stub that Pulumi serializes; the stub loads this code by package name
// (memory-stack/providers, compiled in dist/) when the engine calls it, so what runs in the provider
// host is this code, typechecked and tested directly.
//
//   diff   → compares the schema checksum, variant, connection and rollback data: no database needed.
//            Also a change: state written by an older provider (stateVersion), or a refresh that
//            found drift (`missing`, or a ledger that no longer matches)
//   create → waits for the server (readiness barrier), refuses a database another stack deployed (the ledger names
//            it: ../migrate/deployed-by.ts) and options that contradict the ledger,
//            applies every pending migration (preflight first), then repairs drift (engine/migrate/repair.ts)
//   update → the same: applies what is pending (nothing when only the connection or options changed)
//            and re-creates missing objects
//   read   → `pulumi refresh`: reads the ledger and which recorded objects exist; outputs the
//            checksum and applied migrations as the ledger has them and the objects `missing`, so
//            the next diff reports a change when the database drifted, and the migrations `unfinished`
//            (an up that failed mid-switch leaves the last good state, so the next up would diff unchanged)
//   delete → the rollback of what the database's ownership records list, with the rollback.sql,
//            allowDataLoss and lock settings saved at the last up (state of stateVersion < 4 held a
//            rollback.sql that dropped by name: never run; today's generic one is); "already gone" is success;
//            a schema the ledger says another stack deployed is left in place, and says so
//
// Drift, decided: the next `up` repairs it. After a refresh found objects missing (a manual
// `drop index`), update re-runs only the applied migrations that the ownership records say created
// them — every migration is idempotent (guarded DDL) — under the migration lock, each in its own
// transaction; the ledger is unchanged. A ledger row deleted by hand changes the refreshed checksum, and update applies that
// migration again. What no migration re-creates (a dropped primary key) fails the up naming it.
// Without a refresh a no-op up does not look (diff needs no database), and Verification fails it.
import type { Client } from "pg";
import { connect, withClient } from "../db/client";
import { describeError } from "../db/errors";
import { stateConnectionAdvice } from "./state-connection";
import type { ConnectionSettings } from "../db/url";
import { refuseTransactionPooler } from "../db/pooler";
import { waitForDatabase } from "../db/readiness";
import {
    applyMigrations,
    describeRepair,
    loadRollbackSql,
    missingRecorded,
    readLedger,
    readRecords,
    readStepLedger,
    recordedOptions,
    resolveSchemaOptions,
    rollbackSchema,
    type Connection,
    type LockSettings,
    type MigrationFile,
    type SessionOptions,
} from "../migrate/index";
import { DEFAULT_SCHEMA_OPTIONS, schemaChecksum, type SchemaOptions } from "../migrate/render";
import type { SearchSettings } from "../migrate/search-settings";
import { missingObjects } from "../migrate/repair";
import { describeChangedColumns } from "../migrate/changed-columns";
import { describeRollback } from "../migrate/rollback-summary";
import { refuseOtherStack } from "../migrate/deployed-by";
import { canonical } from "./canonical";
import { refuseAtPreview } from "./schema-preview-refusals";
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
    /** The options the migrations were rendered with: the ledger records them, the preflight checks their manifest. */
    schema: SchemaOptions;
    /** sql/rollback.sql (generic: drops what the ownership records list), kept in state for delete. */
    rollbackSql: string;
    /** Let delete drop recorded tables and memory columns that hold data. */
    allowDataLoss: boolean;
    /** How long create/update wait for the server to answer. */
    readinessTimeoutMs: number;
    /** lock_timeout of every migration and rollback statement, and how long to retry (migration.lockTimeoutMs, migration.lockDeadlineSeconds). */
    locks: LockSettings;
    /** Every object the schema creates by the manifest (repair.ts schemaObjects): what refresh looks for where nothing is recorded yet. */
    objects: string[];
    /** Upper bound of maintenance_work_mem (MB) for an index build (config migration.maintenanceWorkMemMb); absent in older programs' inputs. */
    maintenanceWorkMemMb?: number;
    /** The stack's pgvector search settings, set on the database after the migrations; absent when none is given. */
    searchSettings?: SearchSettings;
    /** docker: the server's image (config image), kept in state for diff to refuse an image on the other C library. */
    serverImage?: string;
    /** The program's stack, <project>/<stack>: recorded in the ledger, and a database another stack deployed is refused (deployed-by.ts). */
    stack?: string;
}

/** The shape of the outputs this code writes; state with an older one is updated on the next up. */
export const STATE_VERSION = 4;

/** The provider's outputs: everything delete needs, because it runs from state alone. */
export interface SchemaMigrationOutputs {
    /**
     * Shape of these outputs and their stub: 1 had no objects and no missing; 2's stub loaded components/schema/provider.ts
     * through tsx; 3's loads memory-stack/providers by name; 4 adds schema and locks, drops memoryTables, and its rollbackSql
     * is the generic one. An older one is updated on the next up.
     */
    stateVersion: typeof STATE_VERSION;
    connection: ConnectionSettings;
    /** The last migration applied. */
    version: string;
    checksum: string;
    variant: string;
    /** Every applied migration, in order. */
    appliedMigrations: string[];
    schema: SchemaOptions;
    rollbackSql: string;
    allowDataLoss: boolean;
    readinessTimeoutMs: number;
    locks: LockSettings;
    objects: string[];
    searchSettings?: SearchSettings;
    serverImage?: string;
    /** The stack that applied; absent in state written before stacks were recorded (its delete leaves a schema another stack deployed). */
    stack?: string;
    /** Objects a refresh found missing from the database; always empty after create/update. */
    missing: string[];
    /**
     * Migrations a refresh found partly applied (steps done, not recorded): an up that failed mid-switch, whose state Pulumi
     * did not update. Absent after create/update.
     */
    unfinished?: string[];
}

/** Inputs whose change is an update. None is ever a replacement: deleting this resource is the rollback. */
const COMPARED: (keyof SchemaMigrationInputs & keyof SchemaMigrationOutputs)[] = [
    "checksum",
    "variant",
    "schema",
    "connection",
    "rollbackSql",
    "allowDataLoss",
    "readinessTimeoutMs",
    "locks",
    "objects",
    "searchSettings",
    "stack",
];

export const RESOURCE_ID = "memory-stack-schema";
const RESOURCE = "the memory schema (SchemaMigration)";

export function diff(
    _id: string,
    olds: Partial<SchemaMigrationOutputs>,
    news: SchemaMigrationInputs,
): { changes: boolean; replaces: string[]; deleteBeforeReplace: boolean } {
    refuseNewerState(RESOURCE, olds, STATE_VERSION);
    refuseAtPreview(olds, news);
    const changed = COMPARED.filter((key) => canonical(olds[key]) !== canonical(news[key]));
    const drifted = (olds.missing ?? []).length > 0 || (olds.unfinished ?? []).length > 0;
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
                    stateConnectionAdvice(error, "refresh"),
                { cause: error },
            );
        },
    );
    try {
        // In the order state lists them, so an unchanged ledger gives back exactly the checksum in state.
        const order = new Map((olds.appliedMigrations ?? []).map((name, position) => [name, position]));
        const ledger = (await readLedger(client)).sort((a, b) => (order.get(a.name) ?? Infinity) - (order.get(b.name) ?? Infinity));
        // A database whose ownership is recorded is checked against its records; one migrated by an earlier
        // release against the manifest (state of stateVersion 1 has none: only the ledger is read).
        const recorded = (await readRecords(client)).length > 0;
        const missing = recorded
            ? (await missingRecorded(client)).map((object) => object.identity)
            : olds.objects
              ? await missingObjects(client, olds.objects)
              : undefined;
        const unfinished = [...new Set((await readStepLedger(client)).map((step) => step.migration))];
        // The key goes when nothing is unfinished: Pulumi's property encoding has no undefined.
        const { unfinished: _before, ...kept } = olds;
        return {
            id,
            props: {
                ...kept,
                ...(unfinished.length > 0 ? { unfinished } : {}),
                // schemaChecksum reads names and checksums only; the ledger has no SQL text.
                checksum: schemaChecksum(ledger.map(({ name, checksum }) => ({ name, checksum, sql: "" }))),
                version: ledger.at(-1)?.name ?? "",
                appliedMigrations: ledger.map((row) => row.name),
                ...(missing ? { missing } : {}),
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
                stateConnectionAdvice(
                    error,
                    "run destroy",
                    "Start the server and run destroy again; if the database is gone for good, `pulumi state delete` this resource.",
                ),
            { cause: error },
        );
    }
    try {
        // The rollback takes the migration lock like an apply; state written before create refused poolers may hold one's URL.
        await refuseTransactionPooler(client, olds.connection, "memory-stack-rollback");
        const current = (olds.stateVersion as number | undefined) === STATE_VERSION;
        const result = await rollbackSchema(client, {
            // Older state holds a rollback.sql that dropped memory names whoever created them: never run it.
            rollbackSql: current ? olds.rollbackSql : loadRollbackSql(),
            allowDataLoss: olds.allowDataLoss === true,
            defaults: olds.schema ?? DEFAULT_SCHEMA_OPTIONS,
            stack: olds.stack ?? null,
            ...sessionOptions(olds.connection, olds.locks, "memory-stack-rollback"),
        });
        // Pulumi shows the provider's stderr with the resource: what was dropped, kept or left alone, or that nothing was.
        describeRollback(result, olds.stack ?? null).forEach((line) => process.stderr.write(`memory-stack: ${line}\n`));
    } finally {
        await client.end().catch(() => undefined);
    }
}

async function apply(inputs: SchemaMigrationInputs): Promise<SchemaMigrationOutputs> {
    await waitForDatabase(inputs.connection, { timeoutMs: inputs.readinessTimeoutMs });
    return withClient(inputs.connection, { applicationName: "memory-stack-migrate" }, async (client) => {
        await refuseTransactionPooler(client, inputs.connection, "memory-stack-migrate");
        const ledger = await readLedger(client);
        // Asked again under the migration lock; first here, where the options of another stack's ledger would be refused instead.
        refuseOtherStack(ledger, inputs.stack);
        // The stack's config names every option: one that contradicts the ledger is refused, naming both.
        resolveSchemaOptions({
            requested: inputs.schema,
            recorded: await recordedOptions(client, ledger),
            defaults: inputs.schema,
            allowVectorSwitch: true,
            shownAs: (key) => `memory-stack:${key}`,
        });
        // One lock for both: no other apply or rollback can come between the migrations and the repair.
        const result = await applyMigrations(client, inputs.migrations, {
            variant: inputs.variant,
            schema: inputs.schema,
            repair: true,
            searchSettings: inputs.searchSettings ?? {},
            ...sessionOptions(inputs.connection, inputs.locks, "memory-stack-migrate"),
            steps: { maintenanceWorkMemMb: inputs.maintenanceWorkMemMb },
            ...(inputs.stack === undefined ? {} : { stack: inputs.stack }),
        });
        [...describeRepair(result.repaired), ...describeChangedColumns(result.changedColumns)].forEach((line) =>
            process.stderr.write(`memory-stack: ${line}\n`),
        );
        return {
            stateVersion: STATE_VERSION,
            connection: inputs.connection,
            version: result.version ?? "",
            checksum: inputs.checksum,
            variant: inputs.variant,
            schema: inputs.schema,
            appliedMigrations: result.appliedMigrations,
            rollbackSql: inputs.rollbackSql,
            allowDataLoss: inputs.allowDataLoss,
            readinessTimeoutMs: inputs.readinessTimeoutMs,
            locks: inputs.locks,
            objects: inputs.objects,
            ...(inputs.searchSettings ? { searchSettings: inputs.searchSettings } : {}),
            ...(inputs.serverImage ? { serverImage: inputs.serverImage } : {}),
            ...(inputs.stack === undefined ? {} : { stack: inputs.stack }),
            missing: [],
        };
    });
}

// Lock waits are printed on the provider's stderr, which Pulumi shows with the resource.
function sessionOptions(connection: ConnectionSettings, locks: Partial<LockSettings> | undefined, applicationName: string): SessionOptions {
    return {
        locks,
        onWait: (line) => process.stderr.write(`memory-stack: ${line}\n`),
        connect: (): Promise<Connection> => connect(connection, { applicationName: `${applicationName}-watch` }),
    };
}

function describeTarget(connection: ConnectionSettings): string {
    return `${connection.user}@${connection.host}:${connection.port}/${connection.database}`;
}
