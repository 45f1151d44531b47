// `pulumi up` three times, through Pulumi's own dynamic-provider host, against a dedicated
// PostgreSQL 15 that logs every connection and every DDL statement: the first up creates the
// schema and then verifies it; a second up with nothing changed diffs both resources as unchanged and
// opens no connection at all (the server's log proves it); an upgrade that adds one migration is an
// update that runs only that migration's DDL, and verifies again.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Client } from "pg";
import type { ConnectionSettings } from "../../engine/db/url";
import { readLedger } from "../../engine/migrate/index";
import { loadMigrationSources, renderMigrations, schemaChecksum, type Migration, type SchemaOptions } from "../../engine/migrate/render";
import { STATE_VERSION } from "../../engine/providers/schema-migration";
import { DEFAULT_OPTIONS } from "../support/apply-sql";
import { memoryProgram, outputsHolding, startLifecycle, type Lifecycle } from "../support/lifecycle";
import { migration } from "../support/migrations";
import { startDedicatedServer, type DedicatedServer } from "../support/dedicated-server";

const options: SchemaOptions = { ...DEFAULT_OPTIONS };
const notes = migration(
    "0099_agent_notes.sql",
    "-- 0099_agent_notes: a later release's migration.\ncreate table if not exists public.agent_notes (id uuid primary key default uuid_generate_v4(), note text not null);\n",
);

let server: DedicatedServer;
let life: Lifecycle;
let connection: ConnectionSettings;
let client: Client;
let migrations: Migration[];

beforeAll(async () => {
    [server, life] = await Promise.all([startDedicatedServer({ logStatements: true }), startLifecycle()]);
    connection = { host: server.host, port: server.port, user: server.user, password: server.password, database: "memory" };
    client = new Client({ ...connection, database: "postgres" });
    await client.connect();
    await client.query("create database memory");
    await client.end();
    client = new Client(connection);
    await client.connect();
    migrations = renderMigrations(loadMigrationSources(), options);
});

afterAll(async () => {
    await client?.end();
    await life?.host.stop();
    await server?.stop();
});

/** Log lines of DDL statements. */
const ddl = (lines: string[]) => lines.filter((line) => /\bstatement: /.test(line));

describe("pulumi up, as the engine drives the dynamic providers", () => {
    it("creates the schema, then the verification, on an empty database, with the outputs the README lists", async () => {
        const steps = await life.up(await memoryProgram({ connection, schema: options }));

        expect(steps).toEqual({ "memory-schema": "create", "memory-verification": "create" });
        expect(life.calls.filter((call) => call.method === "create").map((call) => call.name)).toEqual([
            "memory-schema",
            "memory-verification",
        ]);
        const names = migrations.map((m) => m.name);
        expect(life.outputs("memory-schema")).toMatchObject({
            stateVersion: STATE_VERSION,
            version: names.at(-1),
            appliedMigrations: names,
            variant: "jsonb",
            checksum: schemaChecksum(migrations),
            missing: [],
        });
        expect((await readLedger(client)).map((row) => row.name)).toEqual(names);
        const verification = life.outputs("memory-verification");
        expect(verification).toMatchObject({
            variant: "jsonb",
            schemaChecksum: schemaChecksum(migrations),
            counts: { tables: 7, views: 3, functions: 4, triggers: 4, indexes: 49 },
        });
        expect(verification.checksPassed).toBeGreaterThan(0);
        expect(Number.isNaN(Date.parse(verification.checkedAt as string))).toBe(false);
    });

    it("stores every output holding the password as a secret", () => {
        for (const [name, resource] of life.state) {
            expect(resource.secretOutputs, name).toEqual(expect.arrayContaining(outputsHolding(resource.outputs, connection.password)));
        }
        expect(outputsHolding(life.outputs("memory-schema"), connection.password)).toEqual(["connection"]);
        // Verification keeps its connection for refresh, which checks from state alone.
        expect(outputsHolding(life.outputs("memory-verification"), connection.password)).toEqual(["connection"]);
    });

    it("diffs both as unchanged with no connection to the server on a second up (preview --expect-no-changes passes)", async () => {
        const program = await memoryProgram({ connection, schema: options });
        await server.marker("lifecycle-before-up");

        const steps = await life.up(program);
        await server.marker("lifecycle-after-up");

        expect(steps).toEqual({ "memory-schema": "same", "memory-verification": "same" });
        expect(life.lastDiff("memory-schema")).toEqual({ changes: "none", replaces: [], deleteBeforeReplace: false });
        expect(life.lastDiff("memory-verification")).toEqual({ changes: "none", replaces: [], deleteBeforeReplace: false });
        // No connection attempt and no statement reached the server during the whole up.
        expect(server.between("lifecycle-before-up", "lifecycle-after-up").filter((line) => /connection|statement/.test(line))).toEqual([]);
    });

    it("updates with only the added migration's DDL when a release adds one", async () => {
        const program = await memoryProgram({ connection, schema: options, migrations: [...migrations, notes] });
        const ledgerBefore = await readLedger(client);
        await server.marker("lifecycle-before-upgrade");

        const steps = await life.up(program, async (name) => server.marker(`lifecycle-upgrade-after-${name}`));

        expect(steps).toEqual({ "memory-schema": "update", "memory-verification": "update" });
        expect(life.lastDiff("memory-schema")).toMatchObject({ changes: "some", replaces: [] });
        // The migration goes to the server as one query: one logged statement, the file's text.
        const window = server.between("lifecycle-before-upgrade", "lifecycle-upgrade-after-memory-schema");
        expect(ddl(window)).toHaveLength(1);
        expect(window.join("\n")).toContain("create table if not exists public.agent_notes");
        expect(await readLedger(client)).toEqual([...ledgerBefore, expect.objectContaining({ name: "0099_agent_notes.sql" })]);
        expect(life.outputs("memory-schema")).toMatchObject({
            version: "0099_agent_notes.sql",
            checksum: schemaChecksum([...migrations, notes]),
        });
        expect(life.outputs("memory-verification")).toMatchObject({ schemaChecksum: schemaChecksum([...migrations, notes]) });
    });
});
