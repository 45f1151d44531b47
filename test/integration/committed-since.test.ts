// The check that lets a migration skip the second session (snapshot.ts committedSinceStatement): it
// may answer "nothing else committed" only when no other transaction committed since the catalog was
// read, whatever the migrating transaction itself did (subtransactions, aborted ones, exceptions).
// Xids are the whole server's, so this runs on a server of its own with autovacuum off: on the shared
// one, other test files commit all the time (which only ever makes the engine ask the second session).
import { Client } from "pg";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { applyMigrations, readRecords } from "../../engine/migrate/index";
import { committedSinceStatement } from "../../engine/migrate/snapshot";
import { commitMeanwhile } from "../support/commit-meanwhile";
import { startEmbeddedPostgres, type RunningServer } from "../support/embedded-server";
import { migration } from "../support/migrations";

let server: RunningServer;
let database = 0;
let db: { connect(overrides?: { user?: string; password?: string }): Promise<Client> };
const clients: Client[] = [];
let migrating: Client;
let other: Client;

beforeAll(async () => {
    server = await startEmbeddedPostgres({ flags: ["-c", "autovacuum=off"] });
}, 60_000);

afterAll(async () => {
    await server?.stop();
});

beforeEach(async () => {
    const name = `quiet_${++database}`;
    const connectTo = async (dbname: string, overrides: { user?: string; password?: string } = {}) => {
        const client = new Client({
            host: server.host,
            port: server.port,
            user: server.user,
            password: server.password,
            database: dbname,
            ...overrides,
        });
        await client.connect();
        clients.push(client);
        return client;
    };
    await (await connectTo("postgres")).query(`create database ${name}`);
    db = { connect: (overrides) => connectTo(name, overrides) };
    migrating = await db.connect();
    other = await db.connect();
});

afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.end().catch(() => undefined)));
});

async function mark(): Promise<string> {
    return (await migrating.query<{ mark: string }>("select pg_current_snapshot()::text as mark")).rows[0].mark;
}

async function committedSince(since: string): Promise<boolean | null> {
    return (await migrating.query<{ committed: boolean | null }>(committedSinceStatement(since))).rows[0].committed;
}

describe("whether another transaction committed since a catalog read", () => {
    it("is false after the migrating transaction's own work (subtransactions, a rolled-back savepoint, a caught exception) and another's rollback", async () => {
        await migrating.query("begin");
        const since = await mark();
        await migrating.query(`create table a (x int); savepoint s; create table b (x int); release s;
            savepoint t; create table c (x int); rollback to t;
            do $$ begin create table d (x int); perform 1 / 0; exception when division_by_zero then null; end $$`);
        await other.query("begin; create table g (x int)");
        await other.query("rollback");

        expect(await committedSince(since)).toBe(false);
        await migrating.query("rollback");
    });

    it("is true when another session commits a transaction that began after the read", async () => {
        await migrating.query("begin");
        const since = await mark();
        await other.query("create table e (x int)");

        expect(await committedSince(since)).toBe(true);
        await migrating.query("rollback");
    });

    it("is true when a transaction in progress at the read commits after it", async () => {
        await other.query("begin; create table f (x int)");
        await migrating.query("begin");
        const since = await mark();
        await other.query("commit");

        expect(await committedSince(since)).toBe(true);
        await migrating.query("rollback");
    });

    it("is unknown (null) when too many transactions began since to check one by one", async () => {
        await migrating.query("begin");
        const since = await mark();
        await other.query("do $$ begin for i in 1..10001 loop perform pg_current_xact_id(); commit; end loop; end $$");

        expect(await committedSince(since)).toBeNull();
        await migrating.query("rollback");
    });
});

describe("an apply's second session", () => {
    it("is never opened when nothing else commits, and is asked when another transaction commits during a migration", async () => {
        let opened = 0;
        const connect = async () => {
            opened++;
            return db.connect();
        };
        const a = migration("0001_a.sql", "create table public.a (id int);\n");
        await applyMigrations(migrating, [a], { variant: "jsonb", connect });
        expect(opened).toBe(0);

        const meanwhile = await commitMeanwhile(db, 7301);
        await applyMigrations(migrating, [a, migration("0002_b.sql", `${meanwhile.sql}create table public.b (id int);\n`)], {
            variant: "jsonb",
            connect,
        });
        await meanwhile.committed;

        expect(opened).toBe(1);
        expect((await readRecords(migrating)).map((record) => record.identity)).toEqual(["table public.a", "table public.b"]);
    });

    it("is not needed to record a role a migrating user who cannot read pg_authid created, when nothing else committed", async () => {
        await migrating.query("create role quiet_migrator login password 'migrator-password' createrole");
        await migrating.query(
            `grant create on database ${(await migrating.query("select current_database() as d")).rows[0].d} to quiet_migrator`,
        );
        const own = await db.connect({ user: "quiet_migrator", password: "migrator-password" });
        try {
            await applyMigrations(own, [migration("0001_role.sql", "create role quiet_made nologin;")], { variant: "jsonb" });

            expect((await readRecords(migrating)).map((record) => record.identity)).toEqual(["role quiet_made"]);
        } finally {
            await own.end();
            await migrating.query("drop owned by quiet_migrator; drop role quiet_made; drop role quiet_migrator");
        }
    });
});
