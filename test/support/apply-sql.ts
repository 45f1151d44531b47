// Applies rendered migrations in order, each in its own transaction, for the schema tests.
// Deliberately tiny: the real engine (engine/migrate) adds the ledger, locking and
// checksums; these tests prove the SQL, not the engine. A file that declares steps runs them
// through the engine's step runner without the ledger (a `no transaction` step cannot run inside
// one transaction); a retired file is skipped, as the engine skips it on a new database.
import { randomBytes } from "node:crypto";
import type { Client } from "pg";
import { parseSqlFile } from "../../engine/migrate/execute";
import { loadMigrationSources, renderMigrations, type Migration, type SchemaOptions } from "../../engine/migrate/render";
import { isRetired } from "../../engine/migrate/retired";
import { rerunSteps } from "../../engine/migrate/step-runner";
import { declaredSteps } from "../../engine/migrate/steps";

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

/** Runs each migration in a transaction; a failure rolls that one back and throws naming the file. */
export async function applyMigrations(client: Client, migrations: Migration[]): Promise<void> {
    for (const migration of migrations.filter((m) => !isRetired(m.name))) {
        const steps = declaredSteps(migration.name, migration.sql, await parseSqlFile(migration.name, migration.sql));
        if (steps) {
            await rerunSteps(client, migration, steps).catch((error: { message: string; sqlState?: string }) => {
                throw Object.assign(new Error(`${migration.name}: ${error.message}`), { code: error.sqlState, cause: error });
            });
            continue;
        }
        await client.query("begin");
        try {
            await client.query(migration.sql);
            await client.query("commit");
        } catch (error) {
            await client.query("rollback");
            const e = error as { message: string; code?: string };
            throw Object.assign(new Error(`${migration.name}: ${e.message}`), { code: e.code, cause: error });
        }
    }
}
