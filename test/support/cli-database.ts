// A fresh database per test for driving the CLI, with role names of its own (roles belong to the whole server, which
// test files running in parallel share), passed as --app-role and --admin-role. The file's databases, then their
// roles, are dropped after it.
import type { Client } from "pg";
import { afterAll } from "vitest";
import { dropRoles, freshDatabase, sharedServer, type TestDatabase } from "./database";

export interface CliDatabase {
    db: TestDatabase;
    /** Owner (superuser) connection. */
    client: Client;
    appRole: string;
    adminRole: string;
    /** --app-role and --admin-role with those names. */
    roleFlags: string[];
    /** The CLI's environment: DATABASE_URL for the owner. */
    env: { DATABASE_URL: string };
}

/** Call at a test file's top level: registers the clean-up and returns what makes one such database. */
export function cliDatabases(): (prefix: string, createOptions?: string) => Promise<CliDatabase> {
    const databases: TestDatabase[] = [];
    const roles: string[] = [];
    afterAll(async () => {
        await Promise.all(databases.map((db) => db.drop()));
        await dropRoles(sharedServer(), roles);
    });
    return async (prefix, createOptions) => {
        const db = await freshDatabase(prefix, sharedServer(), createOptions);
        databases.push(db);
        const [appRole, adminRole] = [`${db.name}_app`, `${db.name}_admin`];
        roles.push(appRole, adminRole);
        const roleFlags = ["--app-role", appRole, "--admin-role", adminRole];
        return { db, client: await db.connect(), appRole, adminRole, roleFlags, env: { DATABASE_URL: db.url } };
    };
}
