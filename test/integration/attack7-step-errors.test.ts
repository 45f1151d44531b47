// attack7: a failing statement is named with its line (execute.ts) when a transactional step's statements go
// as one query (2988f23). runFile takes every SQLSTATE of class 57 for a lost connection, and a statement that
// hits statement_timeout (57014: a database or role setting, common on managed servers) or is cancelled by a
// DBA (pg_cancel_backend, 57014 too) is then reported at "line 0" as "(the whole file, sent as one query)"
// with the connection still fine. Before 2988f23 a transactional step ran statement by statement and named
// it; a plain migration has done this since a9461b1 (the file as one query).
import type { Client } from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { applyMigrations, SqlFileError } from "../../engine/migrate/index";
import { freshDatabase, type TestDatabase } from "../support/database";
import { migration } from "../support/migrations";

const dbs: TestDatabase[] = [];

/** A database of its own whose statement_timeout the engine's own statements (milliseconds) stay well under. */
async function timedDatabase(): Promise<Client> {
    const db = await freshDatabase("attack7_step_errors");
    dbs.push(db);
    await (await db.connect()).query(`alter database "${db.name}" set statement_timeout = '500ms'`);
    return db.connect();
}

afterAll(async () => {
    await Promise.all(dbs.map((db) => db.drop()));
});

describe("a statement that hits the database's statement_timeout", () => {
    it("is named with its line in a transactional step", async () => {
        const stepped = migration(
            "0001_attack7_stepped.sql",
            `-- step: first
create table public.attack7_stepped (id int);
-- step: second
insert into public.attack7_stepped values (1);
select pg_sleep(3);
`,
        );
        const client = await timedDatabase();
        const error = await applyMigrations(client, [stepped], { variant: "jsonb" }).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(SqlFileError);
        // Fails: line 0 and "(the whole file, sent as one query)", as if the connection had been lost.
        expect({
            line: (error as SqlFileError).line,
            statement: (error as SqlFileError).statement,
            sqlState: (error as SqlFileError).sqlState,
        }).toEqual({
            line: 5,
            statement: "select pg_sleep(3)",
            sqlState: "57014",
        });
    });

    it("is named with its line in a plain migration", async () => {
        const plain = migration("0002_attack7_plain.sql", "create table public.attack7_plain (id int);\nselect pg_sleep(3);\n");
        const client = await timedDatabase();
        const error = await applyMigrations(client, [plain], { variant: "jsonb" }).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(SqlFileError);
        // Fails the same way (since a9461b1).
        expect((error as SqlFileError).line).toBe(2);
    });
});
