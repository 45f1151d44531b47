// The seed's own cycle — deploy, roll back, deploy again — with the default settings, and a password
// change on a live stack, through Pulumi's dynamic-provider host: the PostgreSQL container as
// components/server.ts registers it (test/support/postgres-container.ts, real PostgreSQL 15), the data
// volume kept by `pulumi destroy` (retainVolumeOnDestroy), and every `up` with the password the stack
// has then (destroy removes the generated one). Each up ends verified; the application's rows survive.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { Client } from "pg";
import { parseConnectionUrl, type ConnectionSettings } from "../../engine/db/url";
import { DEFAULT_OPTIONS } from "../support/apply-sql";
import { POSTGRES_STOP_SIGNAL } from "../../components/server";
import { freePort } from "../support/embedded-server";
import { memoryProgram, startLifecycle, type Lifecycle } from "../support/lifecycle";
import { ContainerHost, missingPostgres15, serverContainerSpec, type RunningContainer } from "../support/postgres-container";

const missing = missingPostgres15();
if (missing) {
    console.warn(`skipping lifecycle-retained-volume.test.ts: ${missing}`);
}
const PASSWORDS = { first: "generated-at-first-up-1111", afterDestroy: "generated-after-destroy-2222", changed: "set-by-config-3333" };

let host: ContainerHost;
let life: Lifecycle;
let port: number;
let container: RunningContainer;

/** `pulumi up` of the server with this password: the container (replacing the running one), healthy; the stack's connection. */
async function upServer(password: string): Promise<ConnectionSettings> {
    const spec = await serverContainerSpec({ password, hostPort: String(port) });
    container = await host.run(spec);
    await container.waitHealthy();
    return parseConnectionUrl(spec.connectionString);
}

async function query<T>(connection: ConnectionSettings, sql: string): Promise<T[]> {
    const client = new Client({ ...connection });
    await client.connect();
    try {
        return (await client.query(sql)).rows as T[];
    } finally {
        await client.end();
    }
}

describe.skipIf(missing)("destroy then up over the retained volume, and a password change", () => {
    beforeAll(async () => {
        port = await freePort();
        host = new ContainerHost(port);
        life = await startLifecycle();
    });

    afterAll(async () => {
        await life?.host.stop();
        await host?.dispose();
    });

    it("deploys on an empty volume and ends verified; the application keeps rows of its own there", async () => {
        const connection = await upServer(PASSWORDS.first);

        const steps = await life.up(await memoryProgram({ connection, schema: DEFAULT_OPTIONS }));

        expect(steps).toEqual({ "memory-schema": "create", "memory-verification": "create" });
        expect(life.outputs("memory-verification")).toMatchObject({ problems: [], counts: { tables: 7, indexes: 49 } });
        await query(connection, "create table app_orders (id int primary key, item text); insert into app_orders values (1, 'robot')");
    });

    it("rolls back on destroy, stops the server gracefully and keeps the volume", async () => {
        await life.destroy();
        const stopped = await container.stop(POSTGRES_STOP_SIGNAL);

        expect(life.state.size).toBe(0);
        expect(stopped).toEqual({ code: 0, signal: null });
        expect(container.log()).toContain("database system is shut down");
        expect(existsSync(join(host.volume, "PG_VERSION"))).toBe(true);
    });

    it("deploys again with the new password over the old data, ends verified, and the old password no longer works", async () => {
        const connection = await upServer(PASSWORDS.afterDestroy);

        const steps = await life.up(await memoryProgram({ connection, schema: DEFAULT_OPTIONS }));

        expect(container.log()).toContain("Skipping initialization");
        expect(steps).toEqual({ "memory-schema": "create", "memory-verification": "create" });
        expect(life.outputs("memory-verification")).toMatchObject({ problems: [], counts: { tables: 7, views: 3, indexes: 49 } });
        expect(await query(connection, "select id, item from app_orders")).toEqual([{ id: 1, item: "robot" }]);
        await expect(query({ ...connection, password: PASSWORDS.first }, "select 1")).rejects.toMatchObject({ code: "28P01" });
    });

    it("takes a password change on the live stack: the container is replaced, both resources update, verified", async () => {
        await container.stop(POSTGRES_STOP_SIGNAL); // the replacement deletes the old container first
        const connection = await upServer(PASSWORDS.changed);

        const steps = await life.up(await memoryProgram({ connection, schema: DEFAULT_OPTIONS }));

        expect(steps).toEqual({ "memory-schema": "update", "memory-verification": "update" });
        expect(life.outputs("memory-verification")).toMatchObject({ problems: [], connection });
        expect(await query(connection, "select count(*)::int as n from app_orders")).toEqual([{ n: 1 }]);
    });

    it("is then unchanged: the next up diffs both as unchanged and refresh finds no drift", async () => {
        const connection = parseConnectionUrl(
            (await serverContainerSpec({ password: PASSWORDS.changed, hostPort: String(port) })).connectionString,
        );

        expect(await life.up(await memoryProgram({ connection, schema: DEFAULT_OPTIONS }))).toEqual({
            "memory-schema": "same",
            "memory-verification": "same",
        });
        expect(await life.refresh()).toEqual({ "memory-schema": [], "memory-verification": [] });
    });
});
