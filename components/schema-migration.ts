// SchemaMigration: the memory schema as a Pulumi dynamic resource. Deleting it is the
// rollback, so it is never replaced: every input change is an update.
//
//   diff   → checksum, variant, connection and rollback data, state vs program; no database needed
//   create → readiness barrier, then every pending migration (engine/migrate/apply.ts)
//   update → the same; a changed password, host or port is an update like any other
//   read   → `pulumi refresh`: the ledger and the schema's objects as the database has them; drift
//            found there makes the next up an update that re-creates what is missing (provider.ts)
//   delete → rollback of what the database records as the stack's, with the settings saved at the
//            last up; refuses while recorded tables or memory columns hold data unless allowDataLoss
//            was true at that up; a schema the ledger says another stack deployed is left in place
//   create and update refuse a database whose ledger names another stack (engine/migrate/deployed-by.ts)
//
// The serialized stub below loads memory-stack/providers by package name at call time: see ./provider-loader.ts.
import * as pulumi from "@pulumi/pulumi";
import type { ConnectionSettings } from "../engine/db/url";
import { loadProviders } from "./provider-loader";
import { describeVariant } from "../engine/migrate/plan";
import {
    loadMigrationSources,
    loadRollbackSql,
    renderMigrations,
    schemaChecksum,
    type Migration,
    type SchemaOptions,
} from "../engine/migrate/render";
import { DEFAULT_LOCK_SETTINGS, type LockSettings } from "../engine/migrate/session";
import { schemaObjects } from "../engine/migrate/repair";
import { DEFAULT_MAINTENANCE_WORK_MEM_MB } from "../engine/migrate/step-runner";
import type { SchemaMigrationInputs } from "../engine/providers/schema-migration";
import type { SearchSettings } from "../engine/migrate/search-settings";

export type { SchemaMigrationInputs, SchemaMigrationOutputs } from "../engine/providers/schema-migration";

export interface SchemaMigrationArgs {
    /** Direct connection to the database, never the pooler (advisory locks need a session); wrapped secret. */
    connection: pulumi.Input<ConnectionSettings>;
    /** What to render: variant, roles, rls. */
    schema: SchemaOptions;
    /** Let `pulumi destroy` drop recorded tables and memory columns that hold data. Default: false. */
    allowDataLoss?: pulumi.Input<boolean>;
    /** lock_timeout of every migration and rollback statement and how long to retry. Default: 500 ms, 300 s. */
    locks?: LockSettings;
    /** How long create/update wait for the server to answer `select 1`. Default: 120 000 ms. */
    readinessTimeoutMs?: pulumi.Input<number>;
    /** The rendered migrations. Default: sql/ rendered for `schema` (tests pass their own). */
    migrations?: Migration[];
    /** Upper bound of maintenance_work_mem (MB) for an index a migration builds. Default: 1024. */
    maintenanceWorkMemMb?: number;
    /** pgvector's hnsw.ef_search / ivfflat.probes for the database (vector variant). Default: none set. */
    searchSettings?: SearchSettings;
    /** docker: the server's image, for diff to refuse one on the other C library (engine/config/image-libc.ts). Default: none. */
    serverImage?: string;
    /** The stack the ledger records as the schema's deployer; another stack's database is refused. Default: <project>/<stack> of this program. */
    stack?: string;
}

export const SCHEMA_MIGRATION_TYPE = "SchemaMigration";
/** The dynamic resource's module; the type token is pulumi-nodejs:dynamic/memory-stack:SchemaMigration. */
export const SCHEMA_MIGRATION_MODULE = "memory-stack";

// A module-level const, so the serialized stub captures the function itself, not the module.
const load = loadProviders;

const provider: pulumi.dynamic.ResourceProvider = {
    diff: async (id, olds, news) => load().schemaMigration.diff(id, olds, news),
    create: async (inputs) => load().schemaMigration.create(inputs),
    update: async (id, olds, news) => load().schemaMigration.update(id, olds, news),
    read: async (id, props) => load().schemaMigration.read(id, props),
    delete: async (id, olds) => load().schemaMigration.remove(id, olds),
};

export class SchemaMigration extends pulumi.dynamic.Resource {
    /** The last migration applied, e.g. 0009_rls.sql. */
    declare readonly version: pulumi.Output<string>;
    /** schemaChecksum of the applied set. */
    declare readonly checksum: pulumi.Output<string>;
    /** "jsonb" or "vector(<dimensions>,<index>)". */
    declare readonly variant: pulumi.Output<string>;
    declare readonly appliedMigrations: pulumi.Output<string[]>;

    constructor(name: string, args: SchemaMigrationArgs, opts: pulumi.CustomResourceOptions = {}) {
        const inputs = schemaMigrationInputs(args);
        super(
            provider,
            name,
            { ...inputs, version: undefined, appliedMigrations: undefined, stateVersion: undefined },
            {
                ...opts,
                // State holds the connection in the outputs too (delete needs it): secret there as well.
                additionalSecretOutputs: [...(opts.additionalSecretOutputs ?? []), "connection"],
            },
            SCHEMA_MIGRATION_MODULE,
            SCHEMA_MIGRATION_TYPE,
        );
    }
}

/** The provider's inputs, from plain schema options; only the connection and the flags may be Outputs. */
export function schemaMigrationInputs(args: SchemaMigrationArgs): {
    [K in keyof SchemaMigrationInputs]: pulumi.Input<SchemaMigrationInputs[K]>;
} {
    const migrations = args.migrations ?? renderMigrations(loadMigrationSources(), args.schema);
    if (migrations.length === 0) {
        throw new Error("SchemaMigration needs at least one migration; sql/ rendered to none");
    }
    return {
        connection: pulumi.secret(args.connection),
        migrations: migrations.map(({ name, sql, checksum }) => ({ name, sql, checksum })),
        checksum: schemaChecksum(migrations),
        variant: describeVariant(args.schema),
        schema: { ...args.schema },
        rollbackSql: loadRollbackSql(),
        allowDataLoss: args.allowDataLoss ?? false,
        readinessTimeoutMs: args.readinessTimeoutMs ?? 120_000,
        locks: { ...DEFAULT_LOCK_SETTINGS, ...args.locks },
        objects: schemaObjects(args.schema),
        maintenanceWorkMemMb: args.maintenanceWorkMemMb ?? DEFAULT_MAINTENANCE_WORK_MEM_MB,
        // Absent unless given, so stacks that set none see no change.
        ...(searchSettingsGiven(args.searchSettings) ? { searchSettings: definedOnly(args.searchSettings) } : {}),
        ...(args.serverImage === undefined ? {} : { serverImage: args.serverImage }),
        stack: args.stack ?? `${pulumi.getProject()}/${pulumi.getStack()}`,
    };
}

function searchSettingsGiven(settings: SearchSettings | undefined): settings is SearchSettings {
    return settings !== undefined && Object.values(settings).some((value) => value !== undefined);
}

function definedOnly(settings: SearchSettings): SearchSettings {
    return Object.fromEntries(Object.entries(settings).filter(([, value]) => value !== undefined));
}
