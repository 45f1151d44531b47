// Applies rendered migrations for the schema tests through the real engine (each in its own
// transaction, its objects recorded as the stack's, which rollback.sql relies on), without the
// preflight, so the SQL's own refusals are what these tests see.
import { randomBytes } from "node:crypto";
import type { Client } from "pg";
import { applyMigrations as applyWithEngine, SqlFileError } from "../../engine/migrate/index";
import { describeVariant } from "../../engine/migrate/plan";
import { loadMigrationSources, renderMigrations, type Migration, type SchemaOptions } from "../../engine/migrate/render";

// Roles belong to the whole server, which test files running in parallel share: each test file (one
// process) gets role names of its own, so no two files create, grant or drop the same role.
const FILE_SUFFIX = randomBytes(3).toString("hex");

export const DEFAULT_OPTIONS: SchemaOptions = {
    vector: false,
    vectorDimensions: 3,
    vectorIndex: "hnsw",
    rls: true,
    appRole: `memory_app_${FILE_SUFFIX}`,
    adminRole: `memory_admin_${FILE_SUFFIX}`,
};

export function migrationsFor(overrides: Partial<SchemaOptions> = {}): Migration[] {
    return renderMigrations(loadMigrationSources(), { ...DEFAULT_OPTIONS, ...overrides });
}

/** Applies what is pending; a failure rolls that migration back and throws "<file>: <database message>" with its SQLSTATE as code. */
export async function applyMigrations(client: Client, migrations: Migration[], options: Partial<SchemaOptions> = {}): Promise<void> {
    try {
        await applyWithEngine(client, migrations, { variant: describeVariant({ ...DEFAULT_OPTIONS, ...options }) });
    } catch (error) {
        if (error instanceof SqlFileError) {
            const cause = error.cause as { message: string };
            const detail = (cause as { detail?: string }).detail;
            throw Object.assign(new Error(`${error.file}: ${cause.message}${detail ? `\n  detail: ${detail}` : ""}`), {
                code: error.sqlState,
                cause: error,
            });
        }
        throw error;
    }
}
