// Faults during `pulumi up`, through Pulumi's dynamic-provider host, on a PostgreSQL 15 of the
// test's own: the server crashes in the middle of an apply (an immediate shutdown while a migration
// waits on a lock), an up while it is down fails with the readiness barrier's message intact at
// the gRPC caller, and once it is back the next up completes with no manual repair and a ledger
// that lists every migration exactly once.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Client } from "pg";
import type { ConnectionSettings } from "../../engine/db/url";
import { readLedger } from "../../engine/migrate/index";
import { loadMigrationSources, renderMigrations, type Migration } from "../../engine/migrate/render";
import { DEFAULT_OPTIONS } from "../support/apply-sql";
import { startDedicatedServer, type DedicatedServer } from "../support/dedicated-server";
import { memoryProgram, startLifecycle, type Lifecycle, type ProgramResource } from "../support/lifecycle";
import { migration } from "../support/migrations";
import { until } from "../support/poll";

// A later migration that creates a table, then needs a lock the test holds: it is mid-apply, with
// its first statement done and uncommitted, for as long as the test likes.
const gated = migration(
    "0098_after_gate.sql",
    [
        "-- 0098_after_gate: a table, then a row that needs to read lifecycle_gate.",
        "create table public.lifecycle_half_done (id bigint primary key);",
        "insert into public.lifecycle_half_done select count(*) from public.lifecycle_gate;",
        "",
    ].join("\n"),
);

let server: DedicatedServer;
let life: Lifecycle;
let connection: ConnectionSettings;
let migrations: Migration[];
let program: ProgramResource[];
const clients: Client[] = [];

async function connect(): Promise<Client> {
    const client = new Client(connection);
    client.on("error", () => undefined); // the crash ends these sessions
    await client.connect();
    clients.push(client);
    return client;
}

beforeAll(async () => {
    [server, life] = await Promise.all([startDedicatedServer(), startLifecycle()]);
    connection = { host: server.host, port: server.port, user: server.user, password: server.password, database: "memory" };
    const admin = new Client({ ...connection, database: "postgres" });
    await admin.connect();
    await admin.query("create database memory").finally(() => admin.end());
    await (await connect()).query("create table public.lifecycle_gate (id int)");
    migrations = [...renderMigrations(loadMigrationSources(), DEFAULT_OPTIONS), gated];
    program = await memoryProgram({ connection, schema: DEFAULT_OPTIONS, migrations, readinessTimeoutMs: 1_500 });
});

afterAll(async () => {
    await Promise.all(clients.map((client) => client.end().catch(() => undefined)));
    await life?.host.stop();
    await server?.stop();
});

async function migrationWaitsOnLock(): Promise<void> {
    const observer = await connect();
    await until(
        "the migration to wait on lifecycle_gate",
        async () =>
            (
                await observer.query(
                    "select 1 from pg_stat_activity where application_name = 'memory-stack-migrate' and wait_event_type = 'Lock'",
                )
            ).rows[0],
        20_000,
    );
}

describe("faults during an up", () => {
    it("fails the create when the server crashes mid-apply, naming the migration, with that migration rolled back", async () => {
        const holder = await connect();
        await holder.query("begin; lock table public.lifecycle_gate in access exclusive mode");

        const up = life.up(program);
        up.catch(() => undefined); // awaited below, after the crash
        await migrationWaitsOnLock();
        await server.crash();

        await expect(up).rejects.toThrow(/^0098_after_gate\.sql failed: Connection terminated/);
        await expect(up).rejects.toThrow("0098_after_gate.sql was rolled back");
        expect(life.state.size).toBe(0);
    });

    it("fails an up while the server is down with the readiness barrier's message, intact, at the gRPC caller", async () => {
        const up = life.up(program);

        await expect(up).rejects.toThrow(
            new RegExp(
                `^postgres@127\\.0\\.0\\.1:${server.port}/memory did not answer "select 1" after \\d+ attempts; ` +
                    `last error: .*ECONNREFUSED`,
            ),
        );
        expect(life.state.size).toBe(0);
    });

    it("completes the next up once the server is back, with no manual repair and every migration in the ledger once", async () => {
        await server.restart();
        const client = await connect();
        expect((await client.query("select to_regclass('public.lifecycle_half_done') as t")).rows[0].t).toBeNull();
        // The migrations before 0098 committed without waiting for the disk (bounded.ts) and the crash came before the run's
        // flush: the ledger keeps a prefix of them, each whole, and the next up applies the rest.
        const survived = (await readLedger(client)).map((row) => row.name);
        expect(survived).toEqual(migrations.slice(0, survived.length).map((m) => m.name));
        expect(survived).not.toContain("0098_after_gate.sql");

        const steps = await life.up(program);

        expect(steps).toEqual({ "memory-schema": "create", "memory-verification": "create" });
        expect((await readLedger(client)).map((row) => row.name)).toEqual(migrations.map((m) => m.name));
        expect((await client.query("select id from public.lifecycle_half_done")).rows).toEqual([{ id: "0" }]);
        expect(life.outputs("memory-schema")).toMatchObject({ version: "0098_after_gate.sql", missing: [] });
    });
});
