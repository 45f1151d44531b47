// The apply's fast path, file by file: a migration's savepoint goes with its begin and the catalog read
// after it rides in the file's own query (`<file>\n;\nexecute <snapshot>`). Files that end oddly, fail
// in the middle or at the end, use savepoints of their own, wait for a lock, or lose their connection
// are applied (or refused) whole, recorded right and named by file and line.
import type { Client } from "pg";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { applyMigrations, readLedger, readRecords, SqlFileError, type ApplyOptions, type MigrationFile } from "../../engine/migrate/index";
import { freshDatabase, type TestDatabase } from "../support/database";
import { migration } from "../support/migrations";
import { until } from "../support/poll";

let db: TestDatabase;
let client: Client;

beforeEach(async () => {
    db = await freshDatabase("fast_path_files");
    client = await db.connect();
});

afterEach(async () => {
    await db.drop();
});

async function apply(migrations: MigrationFile[], options: Partial<ApplyOptions> = {}): Promise<Error | undefined> {
    const migrating = await db.connect();
    return applyMigrations(migrating, migrations, { variant: "jsonb", connect: () => db.connect(), ...options }).then(
        () => undefined,
        (error: unknown) => error as Error,
    );
}

const recorded = async () => (await readRecords(client)).map((record) => `${record.migration} ${record.identity}`);
const ledger = async () => (await readLedger(client)).map((row) => row.name);
const exists = async (name: string) => (await client.query("select to_regclass($1) is not null as found", [name])).rows[0].found as boolean;
const first = migration("0001_base.sql", "create table public.base (id int primary key);\n");

describe("a file's end", () => {
    it("a last line that is a comment with no newline, and a last statement with no semicolon, are applied and recorded", async () => {
        expect(
            await apply([
                first,
                migration("0002_comment.sql", "create table public.a (id int);\n-- the end, no newline"),
                migration("0003_no_semicolon.sql", "create table public.b (id int);\ncreate table public.c (id int)"),
            ]),
        ).toBeUndefined();

        expect(await recorded()).toEqual([
            "0001_base.sql table public.base",
            "0001_base.sql index public.base_pkey",
            "0002_comment.sql table public.a",
            "0003_no_semicolon.sql table public.b",
            "0003_no_semicolon.sql table public.c",
        ]);
    });
});

describe("a failing file", () => {
    it("a syntax error in the middle is named by line before anything runs", async () => {
        const error = await apply([
            first,
            migration("0002_typo.sql", "create table public.a (id int);\ncreate tabel public.b (id int);\n"),
        ]);

        expect(error?.message).toContain('0002_typo.sql line 2: syntax error at or near "tabel"; nothing was run');
        expect(await ledger()).toEqual([]);
        expect(await exists("public.base")).toBe(false);
    });

    it("a runtime error in the last statement names that line, and nothing of the file stays", async () => {
        const error = await apply([
            first,
            migration("0002_bad_insert.sql", "create table public.a (id int);\n\ninsert into public.a values ('x')"),
        ]);

        expect(error).toBeInstanceOf(SqlFileError);
        expect(error?.message).toContain("0002_bad_insert.sql failed at line 3 with SQLSTATE 22P02");
        expect(error?.message).toContain(
            "0002_bad_insert.sql was rolled back: the database is as it was before it and the ledger does not list it",
        );
        expect(await ledger()).toEqual(["0001_base.sql"]);
        expect(await exists("public.a")).toBe(false);
        expect(await recorded()).toEqual(["0001_base.sql table public.base", "0001_base.sql index public.base_pkey"]);
    });
});

describe("a file with savepoints of its own", () => {
    it("records what stayed, not what it rolled back to a savepoint", async () => {
        expect(
            await apply([
                first,
                migration(
                    "0002_savepoints.sql",
                    "savepoint mine;\ncreate table public.a (id int);\nrollback to savepoint mine;\ncreate table public.b (id int);\nrelease savepoint mine;\n",
                ),
            ]),
        ).toBeUndefined();

        expect(await recorded()).toContain("0002_savepoints.sql table public.b");
        expect(await recorded()).not.toContain("0002_savepoints.sql table public.a");
        expect(await exists("public.a")).toBe(false);
    });
});

describe("a file that deallocates the session's prepared statements", () => {
    // BUG on 687d11e: the engine's catalog read is a statement prepared on the migrating session; after a file's
    // `deallocate all` the apply failed with 'prepared statement "memory_stack_snapshot_…" does not exist',
    // naming no file. Refused before anything runs, as transaction control is.
    it("is refused before anything runs, naming the file and line", async () => {
        const error = await apply([
            first,
            migration("0002_deallocate.sql", "create table public.a (id int);\ndeallocate all;\n"),
            migration("0003_after.sql", "create table public.b (id int);\n"),
        ]);

        expect(error?.message).toContain('0002_deallocate.sql line 2: "deallocate all"');
        expect(await ledger()).toEqual([]);
    });

    it("may deallocate a statement it prepared itself", async () => {
        expect(
            await apply([
                first,
                migration(
                    "0002_prepare.sql",
                    "prepare mine as select 1;\nexecute mine;\ndeallocate mine;\ncreate table public.a (id int);\n",
                ),
                migration("0003_after.sql", "create table public.b (id int);\n"),
            ]),
        ).toBeUndefined();
        expect(await recorded()).toContain("0003_after.sql table public.b");
    });
});

describe("a file that waits for a lock another session holds", () => {
    it("is retried whole after lock_timeout and applied once the lock is released, its column recorded once", async () => {
        expect(await apply([first])).toBeUndefined();
        const holder = await db.connect({ application_name: "holder" });
        await holder.query("begin; lock table public.base in access share mode");
        const waits: string[] = [];
        const outcome = apply([first, migration("0002_column.sql", "alter table public.base add column note text;\n")], {
            locks: { timeoutMs: 50, deadlineSeconds: 60 },
            onWait: (line) => waits.push(line),
        });
        await until("a retry", () => (waits.length > 0 ? true : undefined));
        await holder.query("commit");

        expect(await outcome).toBeUndefined();
        expect(await recorded()).toEqual([
            "0001_base.sql table public.base",
            "0001_base.sql index public.base_pkey",
            "0002_column.sql column public.base.note",
        ]);
    });
});

describe("a connection killed while the file runs", () => {
    it("names the file, leaves nothing of it, and the next apply goes through", async () => {
        expect(await apply([first])).toBeUndefined();
        const gate = await db.connect();
        await gate.query("select pg_advisory_lock(4711)");
        const gated = migration(
            "0002_gated.sql",
            "create table public.a (id int);\nselect pg_advisory_xact_lock(4711);\ncreate table public.b (id int);\n",
        );
        const outcome = apply([first, gated], { locks: { timeoutMs: 60_000, deadlineSeconds: 60 } });
        const pid = await until("the file to wait at its gate", async () => {
            const { rows } = await client.query(
                `select pid from pg_locks where locktype = 'advisory' and objid = 4711 and not granted
                    and database = (select oid from pg_database where datname = current_database())`,
            );
            return rows[0]?.pid as number | undefined;
        });
        await client.query("select pg_terminate_backend($1)", [pid]);
        const error = await outcome;

        expect(error).toBeInstanceOf(SqlFileError);
        expect(error?.message).toContain("0002_gated.sql failed");
        expect(await ledger()).toEqual(["0001_base.sql"]);
        expect(await exists("public.a")).toBe(false);
        await gate.query("select pg_advisory_unlock(4711)");
        expect(await apply([first, gated])).toBeUndefined();
        expect(await recorded()).toContain("0002_gated.sql table public.b");
    });
});
