// The schema as the default stack renders it, so every part measures what `pulumi up` would apply.
import { parseConfig } from "../../engine/config/config";
import { describeVariant } from "../../engine/migrate/plan";
import { loadMigrationSources, renderMigrations, type Migration, type SchemaOptions } from "../../engine/migrate/render";
import { splitStatements } from "../../engine/migrate/statements";
import { declaredSteps } from "../../engine/migrate/steps";

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

export async function rendered(
    options: SchemaOptions,
): Promise<{ migrations: Migration[]; plain: Migration[]; variant: string; sql: string }> {
    const migrations = renderMigrations(loadMigrationSources(), options);
    const plain = await Promise.all(migrations.map(async (m) => ({ ...m, sql: await plainSql(m) })));
    return {
        migrations,
        plain,
        variant: describeVariant(options),
        // One file for psql: the migrations in order, as the engine runs them.
        sql: plain.map((m) => `-- ${m.name}\n${m.sql}\n`).join("\n"),
    };
}

/**
 * A migration as a tool that only runs SQL can run it: a batched step's statement, which the engine
 * repeats with the last key ($1) and a batch size ($2), runs once over every row.
 */
async function plainSql(migration: Migration): Promise<string> {
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
