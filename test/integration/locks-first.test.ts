// A migration that alters two tables in turn, while agents write the second and then the first in one
// transaction (as an agent writes a belief, then its goal). Each attempt that takes the tables in the
// migration's order holds the first while it waits for the second, whose holder queues behind it for the
// first: the migration's lock_timeout ends the cycle and it is retried. Retried in the same order, it lost
// that race attempt after attempt (CI: an upgrade under load past the test's 60 s). A retry now first takes
// the lock it waited for, holding nothing, and goes through; no agent fails. One more agent makes the
// cycle certain, whatever the load's timing: it holds the second table until the migration waits for it.
import type { Client } from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { applyMigrations, readLedger } from "../../engine/migrate/index";
import { transactionLoop } from "../support/app-load";
import { freshDatabase, type TestDatabase } from "../support/database";
import { migration } from "../support/migrations";
import { until } from "../support/poll";

let db: TestDatabase;

afterAll(async () => {
    await db?.drop();
});

describe("a migration altering two tables while agents write them in the other order", () => {
    it("takes first, on its retry, the lock it waited for, and goes through; no agent fails", async () => {
        db = await freshDatabase("locks_first");
        const owner = await db.connect();
        await owner.query(`create table public.notes (id int primary key, v int);
            create table public.tags (id int primary key, v int);
            insert into public.notes values (1, 0), (2, 0), (3, 0), (4, 0); insert into public.tags values (1, 0), (2, 0), (3, 0), (4, 0)`);
        const errors: string[] = [];
        let stopping = false;
        let transactions = 0;
        const agents = await Promise.all([1, 2, 3].map(() => db.connect({ application_name: "tagging-agent" })));
        const loops = agents.map((agent: Client, index) =>
            transactionLoop(
                agent,
                `agent ${index}`,
                errors,
                () => stopping,
                async () => {
                    await agent.query("begin");
                    await agent.query("update public.tags set v = v + 1 where id = $1", [index + 1]);
                    await agent.query("select pg_sleep(0.05)");
                    await agent.query("update public.notes set v = v + 1 where id = $1", [index + 1]);
                    await agent.query("commit");
                    transactions++;
                },
            ),
        );
        await until("the agents to be writing", () => (transactions >= 4 ? true : undefined));

        const waits: string[] = [];
        const both = migration(
            "0001_notes_then_tags.sql",
            "alter table public.notes add column a int;\nalter table public.tags add column b int;\n",
        );
        const holder = await db.connect({ application_name: "holding-agent" });
        await holder.query("begin; update public.tags set v = v + 1 where id = 4");
        const applying = applyMigrations(owner, [both], {
            variant: "jsonb",
            locks: { timeoutMs: 200, deadlineSeconds: 20 },
            onWait: (line) => waits.push(line),
            connect: () => db.connect(),
        }).catch((error: unknown) => error as Error);
        await until("the migration to wait for public.tags, holding public.notes", async () =>
            (
                await holder.query(
                    `select from pg_locks where relation = 'public.tags'::regclass and mode = 'AccessExclusiveLock' and not granted`,
                )
            ).rowCount
                ? true
                : undefined,
        );
        // Waits for public.notes behind the migration, which waits for this transaction: the cycle its lock_timeout ends.
        await holder.query("update public.notes set v = v + 1 where id = 4; commit");
        await holder.end();
        const outcome = await applying;
        const before = transactions;
        await until("the agents to go on after the migration", () => (transactions >= before + 4 ? true : undefined));
        stopping = true;
        await Promise.all(loops);

        expect(outcome).not.toBeInstanceOf(Error);
        expect((await readLedger(owner)).map((row) => row.name)).toEqual(["0001_notes_then_tags.sql"]);
        // The cycle happened (a wait), and the retries learned from it: the first wait, and one more at most, where the
        // watcher's session was still opening then or the first wait was on public.notes.
        expect(waits.length).toBeGreaterThan(0);
        expect(waits.length, waits.join("\n")).toBeLessThanOrEqual(2);
        expect(errors).toEqual([]);
    });
});
