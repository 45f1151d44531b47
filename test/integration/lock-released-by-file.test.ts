// A migration file (or a function it calls: an application's trigger on a table the file writes) that releases the
// session's advisory locks takes the migration lock away mid-run: another apply or rollback can then take it and run
// beside this one. Each migration's and each step's COMMIT now goes only while the session still holds the lock
// (lock.ts LOCK_STILL_HELD); otherwise the transaction is rolled back and the run stops, naming the file. Found by attack10.
import type { Client } from "pg";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { applyMigrations, MIGRATION_LOCK_KEY, readLedger } from "../../engine/migrate/index";
import { freshDatabase, type TestDatabase } from "../support/database";
import { migration } from "../support/migrations";

let db: TestDatabase;
let client: Client;

beforeEach(async () => {
    db = await freshDatabase("lock_released");
    client = await db.connect();
});

afterEach(async () => {
    await client?.end().catch(() => undefined);
    await db?.drop();
});

const first = migration("0001_lock_base.sql", "create table public.lock_base (id int primary key);\n");
const failure = (run: Promise<unknown>) =>
    run.then(
        () => undefined,
        (error: unknown) => error as Error,
    );
const exists = async (name: string) =>
    (await client.query<{ found: boolean }>("select to_regclass($1) is not null as found", [name])).rows[0].found;

describe("a migration that releases the migration lock", () => {
    for (const [how, sql] of [
        ["pg_advisory_unlock_all()", "select pg_advisory_unlock_all();"],
        ["an unlock of the lock's key", `select pg_advisory_unlock(${MIGRATION_LOCK_KEY});`],
        ["a trigger of the application's on a table the file writes", "insert into public.lock_base values (1);"],
    ] as const) {
        it(`is rolled back and stops the run, naming the file: ${how}`, async () => {
            if (how.startsWith("a trigger")) {
                await client.query(`create table public.lock_base (id int primary key);
                    create function public.app_unlocks() returns trigger language plpgsql as $$ begin perform pg_advisory_unlock_all(); return new; end $$;
                    create trigger app_unlocks after insert on public.lock_base for each row execute function public.app_unlocks()`);
            }
            const releasing = migration("0002_lock_release.sql", `create table public.lock_released (id int);\n${sql}\n`);
            const files = how.startsWith("a trigger") ? [releasing] : [first, releasing];
            const error = await failure(applyMigrations(client, files, { variant: "jsonb", connect: () => db.connect() }));

            // Fails (no error, 0002 in the ledger) when the COMMIT goes whether or not the session still holds the lock.
            expect(error?.message).toContain("0002_lock_release.sql released memory-stack's migration lock");
            expect(error?.message).toContain("rolled back");
            expect((await readLedger(client)).map((row) => row.name)).toEqual(how.startsWith("a trigger") ? [] : ["0001_lock_base.sql"]);
            expect(await exists("public.lock_released")).toBe(false);
        });
    }
});
