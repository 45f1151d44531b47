// A retried migration transaction first takes the table lock its last attempt waited for (locks-first.ts).
// That lock must be the one waited for and nothing more: not the partitions (or inheritance children) of a
// table the migration only locks itself, which an unrelated transaction may hold the whole time; and
// whatever the table is called, the first lock must not become SQL of its own.
import type { Client } from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { applyMigrations, readLedger } from "../../engine/migrate/index";
import { freshDatabase, type TestDatabase } from "../support/database";
import { migration, recording } from "../support/migrations";
import { until } from "../support/poll";

const databases: TestDatabase[] = [];

afterAll(async () => {
    await Promise.all(databases.map((db) => db.drop()));
});

/**
 * Applies `sql` while `holder` holds a lock on `table` that it waits for: the holder ends once a wait line says so,
 * after `holderLast`, and the retries go on from there, `then` meanwhile. Returns the outcome, the wait lines, what `then` found, and
 * the statements sent that take a lock first. A migration before it in the run prepares the catalog reads, so its
 * own wait begins soon after its begin, as the first lock requires.
 */
async function applyPastAWait<T>(
    db: TestDatabase,
    owner: Client,
    holder: Client,
    table: string,
    sql: string,
    then?: () => Promise<T>,
    holderLast?: string,
) {
    const waits: string[] = [];
    const recorder = recording(owner);
    const outcome = applyMigrations(recorder.client, [migration("0000_before.sql", "select 1;\n"), migration("0001_attack20.sql", sql)], {
        variant: "jsonb",
        locks: { timeoutMs: 400, deadlineSeconds: 8 },
        onWait: (line) => waits.push(line),
        connect: () => db.connect(),
    }).then(
        () => undefined,
        (error: unknown) => error as Error,
    );
    await until("the migration to wait for the holder", () => (waits.some((line) => line.includes(`on ${table} by`)) ? true : undefined));
    await holder.query(`${holderLast ? `${holderLast}; ` : ""}commit`);
    const during = await then?.();
    const error = await outcome;
    return { error, waits, during, firstLocks: recorder.statements.filter((text) => text.includes("lock table only")) };
}

describe("a retry's first lock", () => {
    it("takes only the partitioned table waited for, not a partition another transaction reads the whole time", async () => {
        const db = await freshDatabase("attack20_partitions");
        databases.push(db);
        const owner = await db.connect();
        await owner.query(`create table public.events (id int, at date) partition by range (at);
            create table public.events_old partition of public.events for values from ('2000-01-01') to ('2020-01-01');
            create table public.events_new partition of public.events for values from ('2020-01-01') to ('2100-01-01')`);
        // A report on this year's partition alone: the detach never touches it.
        const report = await db.connect({ application_name: "report" });
        await report.query("begin; select count(*) from public.events_new");
        const holder = await db.connect({ application_name: "writer" });
        await holder.query("begin; select count(*) from only public.events");

        const { error, waits, firstLocks } = await applyPastAWait(
            db,
            owner,
            holder,
            "public.events",
            "alter table public.events detach partition public.events_old;\n",
        );
        await report.query("commit");

        expect(error, waits.join("\n")).toBeUndefined();
        expect((await readLedger(owner)).map((row) => row.name)).toEqual(["0000_before.sql", "0001_attack20.sql"]);
        expect(firstLocks.length, "a retry took the lock waited for first").toBeGreaterThan(0);
        expect(
            waits.filter((line) => line.includes("events_new")),
            waits.join("\n"),
        ).toEqual([]);
    });

    it("takes a table whose name holds the first lock's own quoting, as any other", async () => {
        const db = await freshDatabase("attack20_names");
        databases.push(db);
        const owner = await db.connect();
        await owner.query(`create table public."odd$memory_stack$name" (id int)`);
        const holder = await db.connect({ application_name: "writer" });
        await holder.query(`begin; select count(*) from public."odd$memory_stack$name"`);

        const { error, waits, firstLocks } = await applyPastAWait(
            db,
            owner,
            holder,
            `public."odd$memory_stack$name"`,
            `alter table public."odd$memory_stack$name" add column b int;\n`,
        );

        expect(error, waits.join("\n")).toBeUndefined();
        expect((await readLedger(owner)).map((row) => row.name)).toEqual(["0000_before.sql", "0001_attack20.sql"]);
        expect(firstLocks.length, "a retry took the lock waited for first").toBeGreaterThan(0);
    });

    it("skips a table dropped since the wait, and the migration goes through", async () => {
        const db = await freshDatabase("attack20_dropped");
        databases.push(db);
        const owner = await db.connect();
        await owner.query("create table public.scratch (id int)");
        const holder = await db.connect({ application_name: "writer" });
        await holder.query("begin; select count(*) from public.scratch");

        // The holder drops the table before it ends: the retry finds no table of that oid.
        const { error, waits, firstLocks } = await applyPastAWait(
            db,
            owner,
            holder,
            "public.scratch",
            "drop table if exists public.scratch;\ncreate table public.kept (id int);\n",
            undefined,
            "drop table public.scratch",
        );

        expect(error, waits.join("\n")).toBeUndefined();
        expect((await readLedger(owner)).map((row) => row.name)).toEqual(["0000_before.sql", "0001_attack20.sql"]);
        expect(firstLocks.length, "a retry took the lock waited for first").toBeGreaterThan(0);
    });

    it("is not taken when the last attempt reached that table only after long work: the table is not held through it", async () => {
        const db = await freshDatabase("attack20_late");
        databases.push(db);
        const owner = await db.connect();
        await owner.query("create table public.notes (id int primary key, v int)");
        const holder = await db.connect({ application_name: "writer" });
        await holder.query("begin; select count(*) from public.notes");
        const watcher = await db.connect();

        // Long work first (a backfill of another table, an index build), then a quick change of notes.
        const { error, waits, during, firstLocks } = await applyPastAWait(
            db,
            owner,
            holder,
            "public.notes",
            "select pg_sleep(1.5);\nalter table public.notes add column a int;\n",
            // The retry's long work: what the migration holds on notes meanwhile, which every agent reading notes waits for.
            () =>
                until("the retry's long work", async () => {
                    const { rows } = await watcher.query<{ modes: string[] | null }>(
                        `select (select array_agg(l.mode) from pg_locks l where l.pid = a.pid and l.relation = 'public.notes'::regclass and l.granted) as modes
                           from pg_stat_activity a where a.pid = $1 and a.wait_event = 'PgSleep'`,
                        [(owner as unknown as { processID: number }).processID],
                    );
                    return rows.length === 0 ? undefined : (rows[0].modes ?? []);
                }),
        );

        expect(error, waits.join("\n")).toBeUndefined();
        expect(during).toEqual([]);
        expect(firstLocks).toEqual([]);
    });
});
