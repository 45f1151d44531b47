// One real PostgreSQL 15 per test project; each test file takes its own database from it (database.ts).
// A server that cannot start fails the run here, before any test, saying why and what to do.
import type { TestProject } from "vitest/node";
import { startEmbeddedPostgres, type RunningServer } from "./embedded-server";

let server: RunningServer | undefined;

export async function setup(project: TestProject): Promise<void> {
    server = await startEmbeddedPostgres();
    const { host, port, user, password } = server;
    project.provide("postgres", { host, port, user, password });
}

export async function teardown(): Promise<void> {
    await server?.stop();
}

declare module "vitest" {
    export interface ProvidedContext {
        postgres: import("./embedded-server").ServerAddress;
    }
}
