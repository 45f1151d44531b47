// attack9: the engine prepares its catalog read and its checks once per session (snapshot.ts). A file's plain
// `deallocate all` is refused before anything runs (execute.ts); one run by a DO block (or a function the file calls) is
// not seen by the parse, and the migration failed with PostgreSQL's words alone — `prepared statement
// "memory_stack_snapshot_…" does not exist` — naming neither the file nor what to do.
import type { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { applyMigrations, readLedger } from "../../engine/migrate/index";
import { freshDatabase, type TestDatabase } from "../support/database";
import { migration } from "../support/migrations";

let db: TestDatabase;
let client: Client;

beforeAll(async () => {
    db = await freshDatabase("attack9_deallocate");
    client = await db.connect();
});

afterAll(async () => {
    await db?.drop();
});

describe("a migration file that deallocates every prepared statement from a DO block", () => {
    it("is refused naming the file and what to change; nothing of it applied", async () => {
        const first = migration("0001_attack9_table.sql", "create table public.attack9_notes (id int primary key);\n");
        const error = await applyMigrations(
            client,
            [
                first,
                migration(
                    "0002_attack9_deallocate.sql",
                    "do $$ begin execute 'deallocate all'; end $$;\ncreate table public.attack9_more (id int);\n",
                ),
            ],
            { variant: "jsonb" },
        ).then(
            () => undefined,
            (e: unknown) => e as Error,
        );

        expect(error?.message).toContain("0002_attack9_deallocate.sql deallocated the prepared statements memory-stack keeps");
        expect(error?.message).toContain("was rolled back");
        expect((await readLedger(client)).map((row) => row.name)).toEqual([first.name]);
        expect((await client.query("select to_regclass('public.attack9_more') as t")).rows[0].t).toBeNull();
    });
});
