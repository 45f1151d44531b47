// attack10: every transaction of an apply now begins by executing a statement the engine prepared on the migrating session
// (the search_path's, bounded.ts), as its catalog reads and checks do (snapshot.ts), and the session holds the migration lock
// (lock.ts). A file that takes those away is refused naming the file, as a plain migration's `deallocate all` in a DO block
// already was (attack9-deallocate.test.ts): `discard all` in a `no transaction` step (PostgreSQL refuses it in a transaction)
// deallocated them and released the migration lock mid-run, and the run then failed with `prepared statement
// "memory_stack_search_path_…" does not exist` alone; a DO block's `deallocate all` in a transactional step failed the same
// way, naming neither the file nor what to change.
import type { Client } from "pg";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { applyMigrations, readLedger } from "../../engine/migrate/index";
import { freshDatabase, type TestDatabase } from "../support/database";
import { migration } from "../support/migrations";

let db: TestDatabase;
let client: Client;

beforeEach(async () => {
    db = await freshDatabase("attack10_reset");
    client = await db.connect();
});

afterEach(async () => {
    await db?.drop();
});

const first = migration("0001_attack10_base.sql", "create table public.attack10_base (id int primary key);\n");
const failure = (run: Promise<unknown>) =>
    run.then(
        () => undefined,
        (error: unknown) => error as Error,
    );
const ledger = async () => (await readLedger(client)).map((row) => row.name);

describe("a migration file that resets the migrating session", () => {
    it("discard all, in a no transaction step: refused before anything runs, naming the file, its line and why", async () => {
        const error = await failure(
            applyMigrations(
                client,
                [
                    first,
                    migration("0002_attack10_discard.sql", "-- step: reset no transaction\ndiscard all;\n"),
                    migration("0003_attack10_after.sql", "create table public.attack10_after (id int);\n"),
                ],
                { variant: "jsonb", connect: () => db.connect() },
            ),
        );

        expect(error?.message).toContain('0002_attack10_discard.sql line 2: "discard all"');
        expect(error?.message).toContain("migration lock");
        expect(await ledger()).toEqual([]);
    });

    it("deallocate all in a DO block of a transactional step: refused naming the file; the step rolled back", async () => {
        const error = await failure(
            applyMigrations(
                client,
                [
                    first,
                    migration(
                        "0002_attack10_deallocate.sql",
                        "-- step: one\ncreate table public.attack10_more (id int);\ndo $$ begin execute 'deallocate all'; end $$;\n" +
                            "-- step: two\ncreate table public.attack10_two (id int);\n",
                    ),
                ],
                { variant: "jsonb", connect: () => db.connect() },
            ),
        );

        expect(error?.message).toContain("0002_attack10_deallocate.sql deallocated the prepared statements memory-stack keeps");
        expect(error?.message).toContain("0002_attack10_deallocate.sql step one was rolled back");
        expect(await ledger()).toEqual([first.name]);
        expect((await client.query("select to_regclass('public.attack10_more') as t")).rows[0].t).toBeNull();
    });
});
