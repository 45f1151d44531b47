// The schema as the default stack renders it, so every part measures what `pulumi up` would apply.
import { parseConfig } from "../../engine/config/config";
import { stackSchemaOptions } from "../../engine/config/schema-options";
import { describeVariant } from "../../engine/migrate/plan";
import { loadMigrationSources, renderMigrations, type Migration, type SchemaOptions } from "../../engine/migrate/render";
import { splitStatements } from "../../engine/migrate/statements";
import { declaredSteps } from "../../engine/migrate/steps";

export function schemaOptions(overrides: Partial<SchemaOptions> = {}): SchemaOptions {
    return { ...stackSchemaOptions(parseConfig({})), ...overrides };
}

export function rendered(options: SchemaOptions): { migrations: Migration[]; variant: string } {
    return { migrations: renderMigrations(loadMigrationSources(), options), variant: describeVariant(options) };
}

/**
 * The migrations as a tool that only runs SQL (psql, node-pg-migrate) can run them, each file and all in
 * one: a batched step's statement, which the engine repeats with the last key ($1) and a batch size ($2),
 * runs once over every row.
 */
export async function plainSql(migrations: Migration[]): Promise<{ files: Migration[]; sql: string }> {
    const files = await Promise.all(migrations.map(async (m) => ({ ...m, sql: await plainFile(m) })));
    return { files, sql: files.map((m) => `-- ${m.name}\n${m.sql}\n`).join("\n") };
}

async function plainFile(migration: Migration): Promise<string> {
    const statements = await splitStatements(migration.sql);
    const steps = declaredSteps(migration.name, migration.sql, statements);
    if (steps === undefined) {
        return migration.sql;
    }
    return steps
        .flatMap((step) =>
            step.statements.map((statement) =>
                step.kind === "batched" ? statement.text.replaceAll("$1", "null").replaceAll("$2", "2147483647") : statement.text,
            ),
        )
        .map((text) => `${text};`)
        .join("\n");
}
