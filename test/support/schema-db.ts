// A fresh database with the memory schema applied, for the schema tests.
// Roles are cluster-wide and the test server is shared by files running in parallel, so each
// database gets its own role names (derived from its name); drop() removes them again.
import type { Client } from "pg";
import type { SchemaOptions } from "../../engine/migrate/render";
import { dropRoles, freshDatabase, type TestDatabase } from "./database";
import { applyMigrations, DEFAULT_OPTIONS, migrationsFor } from "./apply-sql";
export { grantStackPrivileges } from "./stack-grants";

export interface SchemaDatabase {
    db: TestDatabase;
    /** Owner (superuser) connection. */
    client: Client;
    options: SchemaOptions;
    drop(): Promise<void>;
}

export async function schemaDatabase(prefix: string, overrides: Partial<SchemaOptions> = {}, apply = true): Promise<SchemaDatabase> {
    const db = await freshDatabase(prefix);
    const options: SchemaOptions = { ...DEFAULT_OPTIONS, appRole: `${db.name}_app`, adminRole: `${db.name}_admin`, ...overrides };
    const client = await db.connect();
    const drop = async () => {
        await db.drop();
        await dropRoles(db.server, [options.appRole, options.adminRole]);
    };
    if (apply) {
        try {
            await applyMigrations(client, migrationsFor(options), options);
        } catch (error) {
            await drop();
            throw error;
        }
    }
    return { db, client, options, drop };
}

/** Grants the roles what the stack's Grants component grants them: the whole privilege list, roles created by the stack. */
/** Grants the test roles everything on the memory schema, for tests of row level security alone (not the privilege list). */
export async function grantTestAccess(client: Client, options: SchemaOptions): Promise<void> {
    const roles = `"${options.appRole}", "${options.adminRole}"`;
    await client.query(`grant usage on schema public to ${roles};
        grant select, insert, update, delete on all tables in schema public to ${roles};
        grant execute on all functions in schema public to ${roles}`);
}

export { DEFAULT_OPTIONS };
