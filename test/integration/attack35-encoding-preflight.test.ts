// BUG on 6b0c820: in a LATIN1 database a migration whose statements hold a character LATIN1 lacks (0015_vector_expand.sql's
// "…" in its messages) failed when its turn came, the files before it applied: the switch to vector stopped halfway, and
// could never finish there. The preflight now names such a file before any change.
import type { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { applyMigrations } from "../../engine/migrate/index";
import { previewApply } from "../../engine/migrate/preview";
import { DEFAULT_SCHEMA_OPTIONS } from "../../engine/migrate/render";
import { freshDatabase, sharedServer, type TestDatabase } from "../support/database";
import { migration } from "../support/migrations";

let db: TestDatabase;
let client: Client;

beforeAll(async () => {
    db = await freshDatabase("a35_encoding_preflight", sharedServer(), "encoding 'LATIN1' locale 'C' template template0");
    client = await db.connect();
});

afterAll(async () => {
    await db?.drop();
});

describe("a migration whose statements hold a character the database's encoding lacks", () => {
    it("is listed by plan and refused by apply before any change, naming the file, the character and the encoding; é, which LATIN1 holds, passes", async () => {
        const files = [
            migration(
                "0001_a35_notes.sql",
                "-- a comment’s curly quote is never sent alone\ncreate table public.a35_notes (id int primary key, note text default 'café');\n",
            ),
            migration("0002_a35_more.sql", "create function public.a35_more() returns text language sql as $$ select 'more…' $$;\n"),
        ];
        const planned = await previewApply(client, files, { variant: "jsonb", schema: DEFAULT_SCHEMA_OPTIONS });
        expect(planned.conflicts.map((conflict) => conflict.object)).toEqual(["migration 0002_a35_more.sql"]);
        const error = await applyMigrations(client, files, { variant: "jsonb" }).then(
            () => undefined,
            (e: unknown) => e as Error,
        );

        expect(error?.message).toContain("refusing to apply the memory schema: 1 conflict found before any change");
        expect(error?.message).toContain(
            `migration 0002_a35_more.sql: its statements hold "…", which this database's encoding (LATIN1) cannot hold`,
        );
        expect((await client.query("select to_regclass('public.a35_notes') as t")).rows[0].t).toBeNull();

        await applyMigrations(client, files.slice(0, 1), { variant: "jsonb" });
        expect((await client.query("select to_regclass('public.a35_notes')::text as t")).rows[0].t).toBe("a35_notes");
    });
});
