// attack10: a migration after another of the run sends its begin and the check on the carried catalog with its own
// statements, in one query; when another transaction committed since that catalog was read, the check fails the query
// before the file's statements (a statement_timeout the server refuses, SQLSTATE 22023, its value a marker), and the engine
// reads the catalog anew and runs the file. runFile took every error carrying that marker for the check's, also one raised
// by the file's own statements in the query sent after the fresh read, where there is no check: the apply then failed with
// PostgreSQL's words alone, naming neither the file nor its line, nor saying what was left.
import type { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { applyMigrations, readLedger } from "../../engine/migrate/index";
import { freshDatabase, type TestDatabase } from "../support/database";
import { migration } from "../support/migrations";

let db: TestDatabase;
let client: Client;

beforeAll(async () => {
    db = await freshDatabase("attack10_marker");
    client = await db.connect();
});

afterAll(async () => {
    await db?.drop();
});

describe("a migration file whose own statement fails with the catalog check's SQLSTATE and words", () => {
    it("is named with its line and statement; nothing of it applied", async () => {
        const first = migration("0001_attack10_base.sql", "create table public.attack10_base (id int primary key);\n");
        const failing = migration(
            "0002_attack10_marker.sql",
            "create table public.attack10_more (id int);\n" +
                "select set_config('statement_timeout', 'memory-stack: another transaction committed since the catalog read', false);\n",
        );
        const error = await applyMigrations(client, [first, failing], { variant: "jsonb", connect: () => db.connect() }).then(
            () => undefined,
            (e: unknown) => e as Error,
        );

        expect(error?.message).toContain("0002_attack10_marker.sql failed at line 2 with SQLSTATE 22023");
        expect(error?.message).toContain("0002_attack10_marker.sql was rolled back");
        expect((await readLedger(client)).map((row) => row.name)).toEqual([first.name]);
        expect((await client.query("select to_regclass('public.attack10_more') as t")).rows[0].t).toBeNull();
    });
});
