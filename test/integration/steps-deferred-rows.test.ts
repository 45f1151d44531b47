// A batched step that finds no row to handle changes nothing: its row in the step ledger goes with the next
// step's, in that step's transaction, and the step ledger is created with the first row written. So a step
// runs again (and finds nothing) only when no later step committed, never after one; before a `no
// transaction` step (whose statements commit on their own) the row is written in the batch's own transaction.
import type { Client } from "pg";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { applyMigrations, readLedger, type MigrationFile } from "../../engine/migrate/index";
import { readStepLedger } from "../../engine/migrate/step-ledger";
import type { StepEvent } from "../../engine/migrate/step-runner";
import { freshDatabase, type TestDatabase } from "../support/database";
import { migration } from "../support/migrations";

let db: TestDatabase;
let client: Client;

beforeEach(async () => {
    db = await freshDatabase("steps_deferred");
    client = await db.connect();
    await client.query("create table public.items (id int primary key, v int not null default 0); create table public.gate (stop boolean)");
});

afterEach(async () => {
    await db.drop();
});

const EMPTY_BATCH = "select id from public.items where ($1::int is null or id > $1::int) and v = -999 order by id limit $2;";
const STOP = "do $$ begin if exists (select from public.gate where stop) then raise exception 'told to stop'; end if; end $$;";

async function apply(files: MigrationFile[]): Promise<{ error?: Error; outcomes: string[][] }> {
    const events: StepEvent[] = [];
    const error = await applyMigrations(client, files, { variant: "jsonb", steps: { onEvent: (event) => events.push(event) } }).then(
        () => undefined,
        (failure: unknown) => failure as Error,
    );
    return { error, outcomes: events.filter((e) => e.type === "step").map((e) => [e.step, (e as { outcome: string }).outcome]) };
}

const steps = async () => (await readStepLedger(client)).map((row) => [row.step, row.finished]);
const stepLedgerExists = async () => (await client.query("select to_regclass('memory_stack.migration_steps') is not null as e")).rows[0].e;

describe("a batched step that finds no row", () => {
    const file = migration(
        "0001_deferred.sql",
        `-- step: empty batched\n${EMPTY_BATCH}\n-- step: made\ncreate table public.made (id int);\n-- step: last\n${STOP}\ncreate table public.last (id int);\n`,
    );

    it("is recorded with the next step's commit, not before: a failure in that step leaves neither, and both run again", async () => {
        const stopFirst = migration(
            "0001_deferred.sql",
            `-- step: empty batched\n${EMPTY_BATCH}\n-- step: made\n${STOP}\ncreate table public.made (id int);\n`,
        );
        await client.query("insert into public.gate values (true)");
        const failed = await apply([stopFirst]);

        expect(failed.error?.message).toContain("told to stop");
        expect(failed.error?.message).toContain(
            "0001_deferred.sql step made was rolled back; the steps before it stay done (memory_stack.migration_steps). empty found nothing to do and looks again first.",
        );
        expect(await stepLedgerExists()).toBe(false);
        expect(await readLedger(client)).toEqual([]);

        await client.query("delete from public.gate");
        const resumed = await apply([stopFirst]);
        expect(resumed.error).toBeUndefined();
        expect(resumed.outcomes).toEqual([
            ["empty", "done"],
            ["made", "done"],
        ]);
        expect((await readLedger(client)).map((row) => row.name)).toEqual(["0001_deferred.sql"]);
        // Its last step's commit recorded the migration alone: no step ledger was ever needed.
        expect(await stepLedgerExists()).toBe(false);
    });

    it("is recorded with the next step once that one committed: a later failure resumes after both", async () => {
        await client.query("insert into public.gate values (true)");
        const failed = await apply([file]);

        expect(failed.error?.message).toContain("told to stop");
        expect(await steps()).toEqual([
            ["empty", true],
            ["made", true],
        ]);

        await client.query("delete from public.gate");
        const resumed = await apply([file]);
        expect(resumed.outcomes).toEqual([
            ["empty", "done before"],
            ["made", "done before"],
            ["last", "done"],
        ]);
        expect(await steps()).toEqual([]);
        expect((await readLedger(client)).map((row) => row.name)).toEqual(["0001_deferred.sql"]);
    });

    it("before a no-transaction step, is recorded in its own transaction: that step's statements never commit with it unrecorded", async () => {
        const withIndex = migration(
            "0001_deferred.sql",
            `-- step: empty batched\n${EMPTY_BATCH}\n-- step: index no transaction\ncreate index concurrently if not exists items_v on public.items (v);\n${STOP}\n-- step: last\ncreate table public.last (id int);\n`,
        );
        await client.query("insert into public.gate values (true)");
        const failed = await apply([withIndex]);

        // The index was built (its statement committed on its own), then the step stopped: the step before it is recorded.
        expect(failed.error?.message).toContain("told to stop");
        expect((await client.query("select to_regclass('public.items_v') is not null as built")).rows[0].built).toBe(true);
        expect(await steps()).toEqual([["empty", true]]);
    });

    it("that handled rows is recorded as it goes, with the row before it that waited", async () => {
        await client.query("insert into public.items select n, -1 from generate_series(1, 3) n; insert into public.gate values (true)");
        const twoBatched = migration(
            "0001_deferred.sql",
            `-- step: empty batched\n${EMPTY_BATCH}\n-- step: fix batched\nwith batch as (select id from public.items where ($1::int is null or id > $1::int) and v < 0 order by id limit $2), fixed as (update public.items set v = 1 from batch where items.id = batch.id) select id from batch order by id;\n-- step: last\n${STOP}\ncreate table public.last (id int);\n`,
        );
        const failed = await apply([twoBatched]);

        expect(failed.error?.message).toContain("told to stop");
        expect(await steps()).toEqual([
            ["empty", true],
            ["fix", true],
        ]);
        expect((await client.query("select count(*)::int as n from public.items where v = 1")).rows[0].n).toBe(3);
    });
});
