// attack9: a plain migration after an earlier one of the same run sends its catalog read with its begin, as the statement
// prepared by the session's first read (snapshot.ts). A run whose first migration has `no transaction` steps alone reads
// no catalog, so nothing was prepared and the begin carried the text "undefined": the next plain migration failed with
// `syntax error at or near "undefined"` (the step committed, the rest of the run did not go on).
import type { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { applyMigrations, readLedger } from "../../engine/migrate/index";
import { freshDatabase, type TestDatabase } from "../support/database";
import { migration } from "../support/migrations";

let db: TestDatabase;
let client: Client;

beforeAll(async () => {
    db = await freshDatabase("attack9_read_at_begin");
    client = await db.connect();
});

afterAll(async () => {
    await db?.drop();
});

describe("a run whose first migration's steps read no catalog (an index built concurrently)", () => {
    it("applies the plain migration after it", async () => {
        const table = migration("0001_attack9_table.sql", "create table public.attack9_notes (id int primary key, body text);\n");
        await applyMigrations(client, [table], { variant: "jsonb" });
        // A new session: nothing prepared on it yet, as in a new CLI run.
        const session = await db.connect();
        const program = [
            table,
            migration(
                "0002_attack9_index.sql",
                "-- step: body no transaction\ncreate index concurrently if not exists attack9_notes_body on public.attack9_notes (body);\n",
            ),
            migration("0003_attack9_more.sql", "create table public.attack9_more (id int);\n"),
        ];
        await applyMigrations(session, program, { variant: "jsonb" });
        expect((await readLedger(client)).map((row) => row.name)).toEqual(program.map((file) => file.name));
        expect((await client.query("select to_regclass('public.attack9_more') is not null as made")).rows[0].made).toBe(true);
    });
});
