// A new password, or the server on a new port, through Pulumi's dynamic-provider host: each is an
// update of the schema (never a replacement, whose delete would be the rollback), and the update
// really connects with the new settings: the old password no longer works, and the new port is a
// forwarder that counts the connections it carried.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Client } from "pg";
import { createServer, connect, type Server } from "node:net";
import type { ConnectionSettings } from "../../engine/db/url";
import { readLedger } from "../../engine/migrate/index";
import { memoryProgram, outputsHolding, startLifecycle, type Lifecycle } from "../support/lifecycle";
import { dropRoles } from "../support/database";
import { schemaDatabase, type SchemaDatabase } from "../support/schema-db";

let schema: SchemaDatabase;
let life: Lifecycle;
let deployer: string;
let connection: ConnectionSettings;
let forwarder: { server: Server; port: number; connections: number } | undefined;

beforeAll(async () => {
    [schema, life] = await Promise.all([schemaDatabase("lifecycle_connection", {}, false), startLifecycle()]);
    // Its own login, so that changing its password cannot disturb the other test files on the shared server.
    deployer = `${schema.db.name}_deployer`;
    await schema.client.query(`create role "${deployer}" login superuser password 'first-password'`);
    const { server } = schema.db;
    connection = { host: server.host, port: server.port, database: schema.db.name, user: deployer, password: "first-password" };
    await life.up(await memoryProgram({ connection, schema: schema.options }));
});

afterAll(async () => {
    await life?.host.stop();
    forwarder?.server.close();
    await schema?.drop();
    await dropRoles(schema.db.server, [deployer]);
});

/** A TCP forwarder on a new port to the server: "the server moved". */
async function forwardTo(target: { host: string; port: number }): Promise<NonNullable<typeof forwarder>> {
    const state = { server: createServer(), port: 0, connections: 0 };
    state.server.on("connection", (socket) => {
        state.connections++;
        const upstream = connect(target.port, target.host);
        socket.pipe(upstream).pipe(socket);
        socket.on("error", () => upstream.destroy());
        upstream.on("error", () => socket.destroy());
    });
    await new Promise<void>((resolve) => state.server.listen(0, "127.0.0.1", resolve));
    state.port = (state.server.address() as { port: number }).port;
    return state;
}

async function loginWorks(password: string): Promise<boolean> {
    const client = new Client({ ...connection, password });
    try {
        await client.connect();
        return true;
    } catch {
        return false;
    } finally {
        await client.end().catch(() => undefined);
    }
}

describe("a changed connection", () => {
    it("is an update, never a replacement, that connects with the new password", async () => {
        await schema.client.query(`alter role "${deployer}" password 'second-password'`);
        expect(await loginWorks("first-password")).toBe(false);
        connection = { ...connection, password: "second-password" };
        const ledgerBefore = await readLedger(schema.client);

        const steps = await life.up(await memoryProgram({ connection, schema: schema.options }));

        expect(steps).toEqual({ "memory-schema": "update", "memory-verification": "update" });
        expect(life.lastDiff("memory-schema")).toEqual({ changes: "some", replaces: [], deleteBeforeReplace: false });
        expect(life.outputs("memory-schema").connection).toMatchObject({ password: "second-password" });
        expect(life.state.get("memory-schema")!.secretOutputs).toEqual(
            expect.arrayContaining(outputsHolding(life.outputs("memory-schema"), "second-password")),
        );
        expect(await readLedger(schema.client)).toEqual(ledgerBefore);
    });

    it("is an update, never a replacement, that reaches the server on its new port", async () => {
        forwarder = await forwardTo(schema.db.server);
        connection = { ...connection, port: forwarder.port };

        const steps = await life.up(await memoryProgram({ connection, schema: schema.options }));

        expect(steps).toEqual({ "memory-schema": "update", "memory-verification": "update" });
        expect(life.lastDiff("memory-schema")).toMatchObject({ replaces: [] });
        expect(life.outputs("memory-schema").connection).toMatchObject({ port: forwarder.port });
        // Readiness, migration and verification sessions for both resources went through the new port.
        expect(forwarder.connections).toBeGreaterThanOrEqual(4);
    });
});
