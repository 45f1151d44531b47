// A transactional step after another transaction of the run that read the catalog (an earlier step's, or the
// migration's before the steps: applySteps' `catalog`) stands on that catalog when no transaction but the run's own
// committed since: it reads the catalog only after its statements. The batches in between are the run's own (their
// xids count as ours), and the first may create the step ledger, whose objects are never a migration's.
// Xids are the whole server's, so this runs on a server of its own with autovacuum off (committed-since.test.ts).
import { Client } from "pg";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { applyMigrations, MIGRATION_LOCK_KEY, readLedger, readRecords } from "../../engine/migrate/index";
import { parseSqlFile } from "../../engine/migrate/execute";
import { ENSURE_LEDGER, ensureLedger } from "../../engine/migrate/ledger";
import { MigrationSession } from "../../engine/migrate/session";
import { OWN_XIDS, ownXidsIn, snapshot } from "../../engine/migrate/snapshot";
import { applySteps, type StepEvent } from "../../engine/migrate/step-runner";
import { declaredSteps } from "../../engine/migrate/steps";
import { startEmbeddedPostgres, type RunningServer } from "../support/embedded-server";
import { migration } from "../support/migrations";
import { psqlNow } from "../support/psql-now";

let server: RunningServer;
let database = 0;
let databaseName = "";
const clients: Client[] = [];
let connect: () => Promise<Client>;
let other: Client;

beforeAll(async () => {
    server = await startEmbeddedPostgres({ flags: ["-c", "autovacuum=off"] });
}, 60_000);

afterAll(async () => {
    await server?.stop();
});

beforeEach(async () => {
    databaseName = `carried_${++database}`;
    const connectTo = async (dbname: string) => {
        const client = new Client({ host: server.host, port: server.port, user: server.user, password: server.password, database: dbname });
        await client.connect();
        clients.push(client);
        return client;
    };
    await (await connectTo("postgres")).query(`create database ${databaseName}`);
    connect = () => connectTo(databaseName);
    other = await connect();
    await other.query("create table public.app_scratch (id int)");
});

afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.end().catch(() => undefined)));
});

/** Counts the whole-catalog reads `client` sends (snapshot.ts runs its prepared statement); `sent` gets every query's text. */
function countReads(applying: Client, sent: string[] = []): () => number {
    let reads = 0;
    const query = applying.query.bind(applying) as (...args: unknown[]) => Promise<unknown>;
    (applying as unknown as { query: unknown }).query = (config: unknown, ...rest: unknown[]) => {
        if (typeof config === "string") sent.push(config);
        reads += typeof config === "string" ? (config.match(/execute memory_stack_snapshot_/g) ?? []).length : 0;
        return query(config, ...rest);
    };
    return () => reads;
}

/** Runs `sql` in a session of its own and waits for it to commit: usable from onEvent, which is not awaited. */
const inAnotherSession = (sql: string) =>
    psqlNow(
        `postgresql://${encodeURIComponent(server.user)}:${encodeURIComponent(server.password)}@${server.host}:${server.port}/${databaseName}`,
        sql,
    );

const recorded = async () => (await readRecords(other)).map((record) => record.identity);

const base = migration(
    "0001_base.sql",
    "create table public.base (id int primary key);\ninsert into public.base select generate_series(1, 5);\n",
);
const stepped = migration(
    "0002_stepped.sql",
    `-- step: make
create table public.made (id int);
-- step: touch batched
select id from public.base where $1::int is null or id > $1::int order by id limit $2;
-- step: more
create table public.more (id int);
`,
);

// The run's first migration: no catalog from a migration before it, whatever the caller passes on.
describe("a transactional step after another one of the run", () => {
    beforeEach(async () => {
        await other.query(base.sql);
    });

    it("reads the catalog only after its statements when only the run's own transactions (the batches) committed since", async () => {
        const applying = await connect();
        const reads = countReads(applying);
        await applyMigrations(applying, [stepped], { variant: "jsonb", connect });

        // The step make before and after its statements, the step more after them only.
        expect(reads()).toBe(3);
        expect(await recorded()).toEqual(["table public.made", "table public.more"]);
        expect((await readLedger(other)).map((row) => row.name)).toEqual(["0002_stepped.sql"]);
    });

    it("reads it anew when another session committed in between, and takes no table it dropped for one the step dropped", async () => {
        const applying = await connect();
        const reads = countReads(applying);
        await applyMigrations(applying, [stepped], {
            variant: "jsonb",
            connect,
            steps: {
                onEvent: (event: StepEvent) => {
                    if (event.type === "step" && event.step === "touch") inAnotherSession("drop table public.app_scratch");
                },
            },
        });

        expect(reads()).toBe(4);
        expect(await recorded()).toEqual(["table public.made", "table public.more"]);
    });
});

describe("the first transactional step of a migration given the catalog the migration before it left", () => {
    const fillFirst = migration(
        "0002_fill_first.sql",
        `-- step: touch batched
select id from public.base where $1::int is null or id > $1::int order by id limit $2;
-- step: make
create table public.made (id int);
`,
    );

    /** 0001 applied on `applying`, with the catalog after its statements and its xids, as apply-pending.ts keeps them. */
    async function afterBase(applying: Client) {
        await applying.query("begin");
        await applying.query(base.sql);
        const catalog = await snapshot(applying);
        const ours = ownXidsIn(await applying.query(OWN_XIDS))!;
        await applying.query("commit");
        return { catalog, ours };
    }

    async function run(applying: Client, onEvent?: (event: StepEvent) => void, sent: string[] = [], ledgerCurrent = false) {
        // Steps run under the migration lock their apply took (lock.ts): each step's commit checks that it is still held.
        await applying.query("select pg_advisory_lock($1::bigint)", [MIGRATION_LOCK_KEY]);
        const known = await afterBase(applying);
        const reads = countReads(applying, sent);
        const steps = declaredSteps(fillFirst.name, fillFirst.sql, await parseSqlFile(fillFirst.name, fillFirst.sql))!;
        await applySteps(new MigrationSession(applying, { connect }), fillFirst, steps, {
            variant: "jsonb",
            done: [],
            ...known,
            ledgerCurrent,
            steps: { onEvent },
        });
        return reads();
    }

    it("stands on it across the batch that created the step ledger: one catalog read, and the step ledger is not the migration's", async () => {
        const sent: string[] = [];
        expect(await run(await connect(), undefined, sent)).toBe(1);
        expect(await recorded()).toEqual(["table public.made"]);
        expect((await readLedger(other)).map((row) => row.name)).toEqual(["0002_fill_first.sql"]);
        // The migration ledger was not there: the first begin made it.
        expect(sent.filter((text) => text.includes(ENSURE_LEDGER))).toHaveLength(1);
    });

    for (const ledgerCurrent of [false, true]) {
        it(`stands on it across a batch that found nothing to do (0014 on a new database): one catalog read (ledger ${ledgerCurrent ? "current" : "made in that batch's transaction"})`, async () => {
            const nothingFirst = migration(
                "0002_fill_first.sql",
                `-- step: touch batched
select count(*) from public.base where id < 0;
select id from public.base where $1::int is null or id > $1::int order by id limit $2;
-- step: make
create table public.made (id int);
`,
            );
            const applying = await connect();
            await applying.query("select pg_advisory_lock($1::bigint)", [MIGRATION_LOCK_KEY]);
            if (ledgerCurrent) await ensureLedger(applying);
            const known = await afterBase(applying);
            const sent: string[] = [];
            const reads = countReads(applying, sent);
            const steps = declaredSteps(nothingFirst.name, nothingFirst.sql, await parseSqlFile(nothingFirst.name, nothingFirst.sql))!;
            await applySteps(new MigrationSession(applying, { connect }), nothingFirst, steps, {
                variant: "jsonb",
                done: [],
                ...known,
                ledgerCurrent,
            });

            expect(reads()).toBe(1);
            expect(await recorded()).toEqual(["table public.made"]);
            // The batch's transaction changed nothing: it has no xid to name, unless it made the ledger.
            expect(sent.filter((text) => text.includes("as ours")).length).toBe(ledgerCurrent ? 0 : 1);
        });
    }

    it("sends no check of the migration ledger's shape when told it is current", async () => {
        const applying = await connect();
        await ensureLedger(applying);
        const sent: string[] = [];
        await run(applying, undefined, sent, true);

        expect(sent.filter((text) => text.includes(ENSURE_LEDGER))).toEqual([]);
        expect((await readLedger(other)).map((row) => row.name)).toEqual(["0002_fill_first.sql"]);
    });

    it("reads the catalog before the statements too when another session committed since", async () => {
        const reads = await run(await connect(), (event) => {
            if (event.type === "step" && event.step === "touch") inAnotherSession("drop table public.app_scratch");
        });

        expect(reads).toBe(2);
        expect(await recorded()).toEqual(["table public.made"]);
    });
});
