// The schema as the default stack renders it, so every part measures what `pulumi up` would apply.
import { parseConfig } from "../../engine/config/config";
import { describeVariant } from "../../engine/migrate/plan";
import { loadMigrationSources, renderMigrations, type Migration, type SchemaOptions } from "../../engine/migrate/render";

export function schemaOptions(overrides: Partial<SchemaOptions> = {}): SchemaOptions {
    const config = parseConfig({});
    return {
        vector: config.vector,
        vectorDimensions: config.vectorDimensions,
        vectorIndex: config.vectorIndex,
        rls: config.rls,
        appRole: config.appRole,
        adminRole: config.adminRole,
        ...overrides,
    };
}

export function rendered(options: SchemaOptions): { migrations: Migration[]; variant: string; sql: string } {
    const migrations = renderMigrations(loadMigrationSources(), options);
    return {
        migrations,
        variant: describeVariant(options),
        // One file for psql: the migrations in order, as the engine runs them.
        sql: migrations.map((m) => `-- ${m.name}\n${m.sql}\n`).join("\n"),
    };
}
