// readLedgers (engine/migrate/step-ledger.ts) reads both ledgers after one question about which exist.
// A database may hold either without the other: the step ledger alone where a first, stepped migration
// was cut off after its first step and the (empty) migration ledger is gone, the migration ledger alone
// after any unstepped apply, neither on a fresh database. A repeated apply
// must plan right from each, and resume the stepped migration where it stopped.
import type { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { applyMigrations, readLedger } from "../../engine/migrate/index";
import { readLedgers } from "../../engine/migrate/step-ledger";
import { freshDatabase, type TestDatabase } from "../support/database";
import { migration } from "../support/migrations";

let db: TestDatabase;
let client: Client;

beforeAll(async () => {
    db = await freshDatabase("ledgers_partial");
    client = await db.connect();
});

afterAll(async () => {
    await db?.drop();
});

const exists = async () =>
    (
        await client.query<{ ledger: boolean; steps: boolean }>(
            "select to_regclass('memory_stack.migrations') is not null as ledger, to_regclass('memory_stack.migration_steps') is not null as steps",
        )
    ).rows[0];

const stepped = migration(
    "0001_stepped.sql",
    `-- step: first
create table first_done (id int);
-- step: second
do $$ begin if exists (select from pg_class where relname = 'stop_here') then raise exception 'cut off'; end if; end $$;
create table second_done (id int);`,
);
const plain = migration("0002_plain.sql", "create table plain_done (id int);");

describe("a database with only some of the ledgers", () => {
    it("neither: reads two empty ledgers", async () => {
        expect(await exists()).toEqual({ ledger: false, steps: false });
        expect(await readLedgers(client)).toEqual({ ledger: [], steps: [], recordsTable: false });
    });

    it("the step ledger alone, after a first stepped migration stopped after its first step: resumes it", async () => {
        await client.query("create table stop_here ()");
        await expect(applyMigrations(client, [stepped], { variant: "jsonb" })).rejects.toThrow(/cut off/);
        // The apply creates the migration ledger up front; without it (an empty one dropped) the step ledger is alone.
        expect(await readLedger(client)).toEqual([]);
        await client.query("drop table memory_stack.migrations");
        expect(await exists()).toEqual({ ledger: false, steps: true });
        expect((await readLedgers(client)).steps.map((row) => row.step)).toEqual(["first"]);

        await client.query("drop table stop_here");
        const result = await applyMigrations(client, [stepped, plain], { variant: "jsonb" });
        expect(result.applied.map((item) => item.name)).toEqual(["0001_stepped.sql", "0002_plain.sql"]);
        expect((await readLedger(client)).map((row) => row.name)).toEqual(["0001_stepped.sql", "0002_plain.sql"]);
        expect(
            (await client.query("select count(*)::int as n from pg_class where relname in ('first_done', 'second_done', 'plain_done')"))
                .rows,
        ).toEqual([{ n: 3 }]);
    });

    it("the migration ledger alone: a repeated apply has nothing to do", async () => {
        await client.query("drop table memory_stack.migration_steps");
        expect(await exists()).toEqual({ ledger: true, steps: false });
        const result = await applyMigrations(client, [stepped, plain], { variant: "jsonb" });
        expect(result.applied).toEqual([]);
        expect((await readLedgers(client)).steps).toEqual([]);
    });
});
