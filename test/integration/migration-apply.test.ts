// The engine against a real PostgreSQL 15: apply, re-apply, refusals and failures, with small fixture migrations.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Client } from "pg";
import {
    applyMigrations,
    readLedger,
    SchemaRefusedError,
    schemaStatus,
    SqlFileError,
    type MigrationProgress,
} from "../../engine/migrate/index";
import { freshDatabase, type TestDatabase } from "../support/database";
import { migration, recording, writes } from "../support/migrations";

const users = migration("0001_users.sql", "-- users\ncreate table app_users (id int primary key, email text not null);\n");
const notes = migration(
    "0002_notes.sql",
    "create table notes (\n    id int primary key,\n    user_id int not null references app_users on delete cascade\n);\ncreate index notes_user_id on notes (user_id);\n",
);

let db: TestDatabase;
let client: Client;

beforeEach(async () => {
    db = await freshDatabase("migration_apply");
    client = await db.connect();
});

afterEach(async () => {
    await db.drop();
});

async function tables(): Promise<string[]> {
    const result = await client.query<{ name: string }>(
        "select table_name as name from information_schema.tables where table_schema = 'public' order by 1",
    );
    return result.rows.map((row) => row.name);
}

describe("applyMigrations", () => {
    it("applies every pending migration in order, records each in the ledger and reports its time", async () => {
        const progress: MigrationProgress[] = [];
        const result = await applyMigrations(client, [users, notes], { variant: "jsonb", onProgress: (event) => progress.push(event) });

        expect(result.applied.map((item) => item.name)).toEqual(["0001_users.sql", "0002_notes.sql"]);
        expect(result.version).toBe("0002_notes.sql");
        expect(progress.map(({ name, index, total }) => ({ name, index, total }))).toEqual([
            { name: "0001_users.sql", index: 1, total: 2 },
            { name: "0002_notes.sql", index: 2, total: 2 },
        ]);
        expect(progress.every((event) => event.durationMs >= 0)).toBe(true);
        expect(await tables()).toEqual(["app_users", "notes"]);
        const ledger = await readLedger(client);
        expect(ledger.map(({ name, checksum, variant }) => ({ name, checksum, variant }))).toEqual([
            { name: users.name, checksum: users.checksum, variant: "jsonb" },
            { name: notes.name, checksum: notes.checksum, variant: "jsonb" },
        ]);
    });

    it("runs zero migrations and sends no DDL on a second apply", async () => {
        await applyMigrations(client, [users, notes], { variant: "jsonb" });
        const recorder = recording(client);

        const second = await applyMigrations(recorder.client, [users, notes], { variant: "jsonb" });

        expect(second.applied).toEqual([]);
        expect(second.appliedMigrations).toEqual(["0001_users.sql", "0002_notes.sql"]);
        expect(recorder.statements.length).toBeGreaterThan(0);
        expect(writes(recorder.statements)).toEqual([]);
    });

    it("applies only the migration added since the last apply", async () => {
        await applyMigrations(client, [users], { variant: "jsonb" });
        const result = await applyMigrations(client, [users, notes], { variant: "jsonb" });
        expect(result.applied.map((item) => item.name)).toEqual(["0002_notes.sql"]);
    });

    it("refuses an edited applied migration before anything runs, saying to write a new migration", async () => {
        await applyMigrations(client, [users], { variant: "jsonb" });
        const edited = migration(users.name, users.sql.replace("email text not null", "email text"));
        const recorder = recording(client);

        const error = await applyMigrations(recorder.client, [edited, notes], { variant: "jsonb" }).catch((e: unknown) => e);

        expect(error).toBeInstanceOf(SchemaRefusedError);
        expect((error as Error).message).toContain("0001_users.sql changed after it was applied");
        expect((error as Error).message).toContain("put the change in a new migration");
        expect(writes(recorder.statements)).toEqual([]);
        expect(await tables()).toEqual(["app_users"]);
        expect((await readLedger(client)).map((row) => row.name)).toEqual(["0001_users.sql"]);
    });

    it("refuses a file that holds its own transaction control before anything runs", async () => {
        const bad = migration("0001_bad.sql", "begin;\ncreate table t (id int);\ncommit;\n");
        await expect(applyMigrations(client, [bad], { variant: "jsonb" })).rejects.toThrow("0001_bad.sql line 1");
        expect(await tables()).toEqual([]);
    });
});

describe("a migration that fails half way", () => {
    const failing = migration(
        "0002_notes.sql",
        "create table notes (id int primary key, body text not null);\n" +
            "insert into notes values (1, 'kept?');\n" +
            "-- the third statement fails\n" +
            "insert into notes values (2, null);\n" +
            "create index notes_body on notes (body);\n",
    );

    it("leaves the database and the ledger as they were before it, naming file, line, statement and SQLSTATE", async () => {
        const error = await applyMigrations(client, [users, failing], { variant: "jsonb" }).catch((e: unknown) => e);

        expect(error).toBeInstanceOf(SqlFileError);
        const failure = error as SqlFileError;
        expect(failure.file).toBe("0002_notes.sql");
        expect(failure.line).toBe(4);
        expect(failure.sqlState).toBe("23502");
        expect(failure.statement).toBe("insert into notes values (2, null)");
        expect(failure.message).toContain("0002_notes.sql failed at line 4 with SQLSTATE 23502");
        expect(failure.message).toContain("statement: insert into notes values (2, null)");
        expect(failure.message).toContain("the ledger does not list it");
        expect(await tables()).toEqual(["app_users"]);
        expect((await readLedger(client)).map((row) => row.name)).toEqual(["0001_users.sql"]);
    });

    it("succeeds on the next run once the cause is fixed, with no manual repair", async () => {
        await applyMigrations(client, [users, failing], { variant: "jsonb" }).catch(() => undefined);
        const fixed = migration(failing.name, failing.sql.replace("(2, null)", "(2, 'fixed')"));

        const result = await applyMigrations(client, [users, fixed], { variant: "jsonb" });

        expect(result.applied.map((item) => item.name)).toEqual(["0002_notes.sql"]);
        expect((await client.query("select body from notes order by id")).rows).toEqual([{ body: "kept?" }, { body: "fixed" }]);
        expect((await schemaStatus(client, [users, fixed], "jsonb")).upToDate).toBe(true);
    });

    it("points a syntax error at the line it is on, not the statement's first line", async () => {
        const typo = migration("0001_typo.sql", "create table ok (id int);\ncreate table broken (\n    id int,\n    name txet\n);\n");
        const error = (await applyMigrations(client, [typo], { variant: "jsonb" }).catch((e: unknown) => e)) as SqlFileError;
        expect(error.sqlState).toBe("42704");
        expect(error.line).toBe(4);
        expect(await tables()).toEqual([]);
    });
});

describe("schemaStatus", () => {
    it("reports applied, pending and drift without changing anything", async () => {
        expect(await schemaStatus(client, [users, notes], "jsonb")).toMatchObject({
            ledger: false,
            pending: ["0001_users.sql", "0002_notes.sql"],
            upToDate: false,
        });
        await applyMigrations(client, [users], { variant: "jsonb" });
        const recorder = recording(client);
        const status = await schemaStatus(recorder.client, [migration(users.name, "-- edited"), notes], "jsonb");
        expect(status.applied).toEqual([]);
        expect(status.pending).toEqual(["0002_notes.sql"]);
        expect(status.drift).toMatchObject([{ kind: "checksum", name: "0001_users.sql" }]);
        expect(writes(recorder.statements)).toEqual([]);
    });
});
