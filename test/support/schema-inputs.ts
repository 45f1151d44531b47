// What the program sends the schema provider for these options on this connection, as a first `pulumi up` does.
import type { ConnectionSettings } from "../../engine/db/url";
import { DEFAULT_LOCK_SETTINGS, loadRollbackSql } from "../../engine/migrate/index";
import { describeVariant } from "../../engine/migrate/plan";
import { schemaChecksum, type SchemaOptions } from "../../engine/migrate/render";
import { schemaObjects } from "../../engine/migrate/repair";
import type { SchemaMigrationInputs } from "../../engine/providers/schema-migration";
import { migrationsFor } from "./apply-sql";

export function schemaInputs(connection: ConnectionSettings, options: SchemaOptions): SchemaMigrationInputs {
    const migrations = migrationsFor(options);
    return {
        connection,
        migrations,
        checksum: schemaChecksum(migrations),
        variant: describeVariant(options),
        schema: options,
        rollbackSql: loadRollbackSql(),
        allowDataLoss: false,
        readinessTimeoutMs: 10_000,
        locks: DEFAULT_LOCK_SETTINGS,
        objects: schemaObjects(options),
    };
}
