// A retried migration transaction first takes the table lock its last attempt waited for (locks-first.ts).
// That lock must be the one waited for and nothing more: not the partitions (or inheritance children) of a
// table the migration only locks itself, which an unrelated transaction may hold the whole time; and
// whatever the table is called, the first lock must not become SQL of its own.
import type { Client } from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { applyMigrations, readLedger } from "../../engine/migrate/index";
import { freshDatabase, type TestDatabase } from "../support/database";
import { migration } from "../support/migrations";
import { until } from "../support/poll";

const databases: TestDatabase[] = [];

afterAll(async () => {
    await Promise.all(databases.map((db) => db.drop()));
});

/**
 * Applies `sql` while `holder` holds a lock on `table` that it waits for: the holder ends once a wait line says so,
 * and the retries go on from there. Returns the outcome and the wait lines.
 */
async function applyPastAWait(db: TestDatabase, owner: Client, holder: Client, table: string, sql: string) {
    const waits: string[] = [];
    const outcome = applyMigrations(owner, [migration("0001_attack20.sql", sql)], {
        variant: "jsonb",
        locks: { timeoutMs: 200, deadlineSeconds: 8 },
        onWait: (line) => waits.push(line),
        connect: () => db.connect(),
    }).then(
        () => undefined,
        (error: unknown) => error as Error,
    );
    await until("the migration to wait for the holder", () => (waits.some((line) => line.includes(`on ${table} by`)) ? true : undefined));
    await holder.query("commit");
    return { error: await outcome, waits };
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

        const { error, waits } = await applyPastAWait(
            db,
            owner,
            holder,
            "public.events",
            "alter table public.events detach partition public.events_old;\n",
        );
        await report.query("commit");

        expect(error, waits.join("\n")).toBeUndefined();
        expect((await readLedger(owner)).map((row) => row.name)).toEqual(["0001_attack20.sql"]);
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

        const { error, waits } = await applyPastAWait(
            db,
            owner,
            holder,
            `public."odd$memory_stack$name"`,
            `alter table public."odd$memory_stack$name" add column b int;\n`,
        );

        expect(error, waits.join("\n")).toBeUndefined();
        expect((await readLedger(owner)).map((row) => row.name)).toEqual(["0001_attack20.sql"]);
    });
});
