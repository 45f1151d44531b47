// The check that lets a migration skip the second session (snapshot.ts committedSinceStatement): it
// may answer "nothing else committed" only when no other transaction committed since the catalog was
// read, whatever the migrating transaction itself did (subtransactions, aborted ones, exceptions).
// Xids are the whole server's, so this runs on a server of its own with autovacuum off: on the shared
// one, other test files commit all the time (which only ever makes the engine ask the second session, or
// read the catalog the previous migration left anew).
import { Client } from "pg";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { applyMigrations, readLedger, readRecords } from "../../engine/migrate/index";
import { committedSinceStatement } from "../../engine/migrate/snapshot";
import { commitMeanwhile } from "../support/commit-meanwhile";
import { startEmbeddedPostgres, type RunningServer } from "../support/embedded-server";
import { migration } from "../support/migrations";
import { psqlNow } from "../support/psql-now";
import { until } from "../support/poll";

let server: RunningServer;
let database = 0;
let databaseName = "";
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
    databaseName = name;
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

const databaseUrl = () =>
    `postgresql://${encodeURIComponent(server.user)}:${encodeURIComponent(server.password)}@${server.host}:${server.port}/${databaseName}`;

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
        // A lock_timeout longer than the test: the second session also watches a transaction that takes a quarter of it
        // (bounded.ts), which a loaded machine can make a migration here do. The engine keeps lock_timeout at most half the
        // server's deadlock_timeout (lock.ts): this session's is raised to let it be that long.
        const locks = { timeoutMs: 60_000 };
        await migrating.query("set deadlock_timeout = '1h'");
        const a = migration("0001_a.sql", "create table public.a (id int);\n");
        await applyMigrations(migrating, [a], { variant: "jsonb", connect, locks });
        expect(opened).toBe(0);

        const meanwhile = await commitMeanwhile(db, 7301);
        await applyMigrations(migrating, [a, migration("0002_b.sql", `${meanwhile.sql}create table public.b (id int);\n`)], {
            variant: "jsonb",
            connect,
            locks,
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

describe("the catalog the previous migration left, standing for the one before the next migration's statements", () => {
    /** Counts the whole-catalog reads `client` ran (snapshot.ts runs its prepared statement), in queries that succeeded. */
    function countReads(applying: Client): () => number {
        let reads = 0;
        const query = applying.query.bind(applying) as (...args: unknown[]) => Promise<unknown>;
        (applying as unknown as { query: unknown }).query = async (config: unknown, ...rest: unknown[]) => {
            const result = await query(config, ...rest);
            reads += typeof config === "string" ? (config.match(/execute memory_stack_snapshot_/g) ?? []).length : 0;
            return result;
        };
        return () => reads;
    }
    const first = migration("0001_base.sql", "create table public.base (id int primary key, c int);\n");
    const next = migration("0002_next.sql", "create table public.next (id int);\n");
    const recorded = async () => (await readRecords(other)).map((record) => record.identity);
    const ledger = async () => (await readLedger(other)).map((row) => row.name);
    /** Runs `sql` in a session of its own and waits for it to commit: usable from onProgress, which is not awaited. */
    const inAnotherSession = (sql: string) => psqlNow(databaseUrl(), sql);

    it("is used when no other transaction committed since it was read: the next migration reads the catalog only after its statements", async () => {
        const applying = await db.connect();
        const reads = countReads(applying);
        await applyMigrations(applying, [first, next], { variant: "jsonb", connect: () => db.connect() });

        // 0001 before and after its statements, 0002 after them.
        expect(reads()).toBe(3);
        expect(await recorded()).toEqual(["table public.base", "index public.base_pkey", "table public.next"]);
    });

    it("is not used when another session committed since: the next migration reads the catalog before its statements, and a table dropped in between is not taken for one it dropped", async () => {
        await other.query("create table public.app_scratch (id int)");
        const applying = await db.connect();
        const reads = countReads(applying);
        const error = await applyMigrations(applying, [first, next], {
            variant: "jsonb",
            connect: () => db.connect(),
            onProgress: (progress) => {
                if (progress.name === "0001_base.sql") {
                    inAnotherSession("drop table public.app_scratch");
                }
            },
        }).then(
            () => undefined,
            (failure: unknown) => failure as Error,
        );

        expect(error).toBeUndefined();
        expect(reads()).toBe(4);
        expect(await ledger()).toEqual(["0001_base.sql", "0002_next.sql"]);
        expect(await recorded()).toEqual(["table public.base", "index public.base_pkey", "table public.next"]);
    });

    it("when another session committed since, runs the next migration's statements once, after the catalog is read anew", async () => {
        await other.query("create sequence public.app_runs");
        const counted = migration("0002_next.sql", "create table public.next (id int);\nselect nextval('public.app_runs');\n");
        const applying = await db.connect();
        await applyMigrations(applying, [first, counted], {
            variant: "jsonb",
            connect: () => db.connect(),
            onProgress: (progress) => {
                if (progress.name === "0001_base.sql") {
                    inAnotherSession("create table public.app_meanwhile (id int)");
                }
            },
        });

        // A sequence is not rolled back: a run of the statements undone by the fresh read would have taken 1 and left 2.
        expect((await other.query("select last_value from public.app_runs")).rows[0].last_value).toBe("1");
        expect(await recorded()).toEqual(["table public.base", "index public.base_pkey", "table public.next"]);
    });

    it("on a busy server, fails one query of the run to find another commit, then checks with each later begin on its own", async () => {
        const applying = await db.connect();
        const refused: string[] = [];
        const query = applying.query.bind(applying) as (...args: unknown[]) => Promise<unknown>;
        (applying as unknown as { query: unknown }).query = (config: unknown, ...rest: unknown[]) =>
            query(config, ...rest).catch((error: Error) => {
                refused.push(error.message);
                throw error;
            });
        const files = ["a", "b", "c", "d"].map((name, index) =>
            migration(`000${index + 1}_busy_${name}.sql`, `create table public.busy_${name} (id int);\n`),
        );
        await applyMigrations(applying, files, {
            variant: "jsonb",
            connect: () => db.connect(),
            onProgress: ({ index }) => inAnotherSession(`create table public.app_busy_${index} (id int)`),
        });

        // Fails (three) when every migration after another commit fails its file's query to find out.
        expect(refused.filter((message) => message.includes("another transaction committed since the catalog read"))).toHaveLength(1);
        expect(await recorded()).toEqual(["table public.busy_a", "table public.busy_b", "table public.busy_c", "table public.busy_d"]);
    });

    it("after a migration whose exception blocks committed subtransactions (xids the check cannot tell from another session's): read anew, and applied", async () => {
        const withSubtransactions = migration(
            "0001_base.sql",
            `${first.sql}do $$ begin for i in 1..3 loop begin insert into public.base values (i); exception when others then null; end; end loop; end $$;\n`,
        );
        const applying = await db.connect();
        const reads = countReads(applying);
        await applyMigrations(applying, [withSubtransactions, next], { variant: "jsonb", connect: () => db.connect() });

        expect(reads()).toBe(4);
        expect(await recorded()).toEqual(["table public.base", "index public.base_pkey", "table public.next"]);
    });
});

describe("with no second session, and another session committing while the migration runs", () => {
    // Was: with the second session refused, the check was skipped and app_fn, which another session committed
    // while 0002 ran and 0002 then replaced, was recorded as the stack's: a rollback would drop it.
    it("refuses the migration, saying why, and leaves the application's function as it was and unrecorded", async () => {
        // On this server of its own nothing else commits: on the shared one, a commit by another test file during 0001 made
        // it refuse for want of a second session before 0002 ever waited (flaky).
        const other = await db.connect();
        await other.query("begin");
        await other.query("create function public.app_fn() returns int language sql as 'select 1'");
        await other.query("select pg_advisory_xact_lock(7501)");
        const committed = (async () => {
            await until("0002 to wait for the other session's lock", async () => {
                const { rows } = await migrating.query<{ waiting: boolean }>(
                    "select exists (select from pg_locks where locktype = 'advisory' and not granted and objid = 7501 and database = (select oid from pg_database where datname = current_database())) as waiting",
                );
                return rows[0].waiting ? true : undefined;
            });
            await other.query("commit");
            await other.end();
        })();
        const error = await applyMigrations(
            await db.connect(),
            [
                migration("0001_base.sql", "create table public.base (id int primary key, c int);\n"),
                migration(
                    "0002_next.sql",
                    "select pg_advisory_xact_lock(7501);\ncreate or replace function public.app_fn() returns int language sql as 'select 2';\n",
                ),
            ],
            { variant: "jsonb", connect: () => Promise.reject(new Error("sorry, too many clients already")) },
        ).then(
            () => undefined,
            (failure: unknown) => failure as Error,
        );
        await committed;

        expect(error?.message).toContain(
            "0002_next.sql: another transaction committed while it ran, and no second session could be opened",
        );
        expect((await readLedger(migrating)).map((row) => row.name)).toEqual(["0001_base.sql"]);
        expect((await readRecords(migrating)).map((record) => record.identity)).not.toContain("function public.app_fn()");
        expect((await migrating.query("select public.app_fn() = 1 as ok")).rows[0].ok).toBe(true);
    });
});
