// An up that changes the stack's password and then fails leaves the old password in Pulumi's state: the server
// (the container replaced first) has the new one, the failed resource keeps the outputs of its last completed
// up, and refresh and destroy get nothing newer from Pulumi. They fail with the server's 28P01, and the message
// said "Start the server" (and, on destroy, `pulumi state delete` — which would skip the rollback) of a server
// that runs. It now says what happened and what ends it: an up that completes. Through Pulumi's dynamic-provider
// host, the PostgreSQL container as components/server.ts registers it (test/support/postgres-container.ts).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Client } from "pg";
import { POSTGRES_STOP_SIGNAL } from "../../components/server";
import { parseConnectionUrl, type ConnectionSettings } from "../../engine/db/url";
import { DEFAULT_OPTIONS, migrationsFor } from "../support/apply-sql";
import { freePort } from "../support/embedded-server";
import { memoryProgram, startLifecycle, type Lifecycle } from "../support/lifecycle";
import { migration } from "../support/migrations";
import type { Properties } from "../support/provider-host";
import { ContainerHost, missingPostgres15, serverContainerSpec, type RunningContainer } from "../support/postgres-container";

const missing = missingPostgres15();
if (missing) {
    console.warn(`skipping attack26-stale-state-password.test.ts: ${missing}`);
}
const OLD = "before-the-change-Aaaa1111";
const NEW = "after-the-change-Bbbb2222";
const ADVICE = /refused the password in Pulumi's state.*run `pulumi up` until it completes/;

let host: ContainerHost;
let life: Lifecycle;
let port: number;
let container: RunningContainer;

async function upServer(password: string): Promise<ConnectionSettings> {
    const spec = await serverContainerSpec({ password, hostPort: String(port) });
    container = await host.run(spec);
    await container.waitHealthy();
    return parseConnectionUrl(spec.connectionString);
}

/** The memory tables left in public. */
async function tables(connection: ConnectionSettings): Promise<string[]> {
    const client = new Client({ ...connection });
    await client.connect();
    try {
        const result = await client.query<{ name: string }>(
            "select relname as name from pg_class where relnamespace = 'public'::regnamespace and relkind = 'r' and relname = any($1)",
            [["sessions", "goal_assessments", "belief_graphs"]],
        );
        return result.rows.map((row) => row.name);
    } finally {
        await client.end();
    }
}

function failure(work: Promise<unknown>): Promise<string> {
    return work.then(
        () => "succeeded",
        (error: Error) => `${error.message}\n${error.stack ?? ""}`,
    );
}

describe.skipIf(missing)("a password change whose up fails after the server took the new password", () => {
    let connection: ConnectionSettings;
    let schemaWithOldPassword: Properties;

    beforeAll(async () => {
        port = await freePort();
        host = new ContainerHost(port);
        life = await startLifecycle();
        await life.up(await memoryProgram({ connection: await upServer(OLD), schema: DEFAULT_OPTIONS }));
        schemaWithOldPassword = life.outputs("memory-schema");
        await container.stop(POSTGRES_STOP_SIGNAL);
        connection = await upServer(NEW);
        // The new release's migration fails: the schema keeps its state, and with it the old password.
        const failing = migration("0099_fails.sql", "select 1 / 0;");
        const program = await memoryProgram({ connection, schema: DEFAULT_OPTIONS, migrations: [...migrationsFor(), failing] });
        await expect(life.up(program)).rejects.toThrow(/0099_fails.sql/);
    }, 180_000);

    afterAll(async () => {
        await life?.host.stop();
        await host?.dispose();
    });

    it("refresh names the stale password in state and an up that completes, not a stopped server, and shows neither password", async () => {
        const message = await failure(life.refresh());

        expect(message).toMatch(/28P01/);
        expect(message).toMatch(ADVICE);
        expect(message).not.toMatch(/Start the server/);
        expect(message).not.toContain(OLD);
        expect(message).not.toContain(NEW);
    });

    it("destroy from such state says the same, and never advises `pulumi state delete`, which would skip the rollback", async () => {
        const schema = life.state.get("memory-schema")!;

        const message = await failure(life.host.delete(schema.id, schema.urn, schemaWithOldPassword));

        expect(message).toMatch(ADVICE);
        expect(message).not.toMatch(/state delete|Start the server/);
        expect(message).not.toContain(OLD);
    });

    it("an up that completes puts the new password in state: refresh finds no drift and destroy rolls back", async () => {
        expect(await life.up(await memoryProgram({ connection, schema: DEFAULT_OPTIONS }))).toEqual({
            "memory-schema": "update",
            "memory-verification": "update",
        });
        expect(await life.refresh()).toEqual({ "memory-schema": [], "memory-verification": [] });
        await life.destroy();
        expect(life.state.size).toBe(0);
        expect(await tables(connection)).toEqual([]);
    });
});
