// One real PostgreSQL 15 per test run; each test file takes its own database from it (test/support/database.ts).
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
