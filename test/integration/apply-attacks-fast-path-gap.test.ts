// The fast path between two migrations of one run, attacked where the brief of issue 16 points: the catalog the
// previous migration read after its statements stands for the next one's first read only when no other
// transaction committed since. Here another session commits at points the existing tests do not reach: one that
// got its xid before the previous migration read the catalog and commits between the two transactions, and a gap
// after a migration whose statements changed nothing (its xids come from the bookkeeping writes alone); and the
// run's own migrations rename, replace and drop what an earlier one of the same run created, or reset the session.
import { Client as PgClient, type Client } from "pg";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { applyMigrations, missingRecorded, readLedger, readRecords, type MigrationFile } from "../../engine/migrate/index";
import { freshDatabase, type TestDatabase } from "../support/database";
import { startEmbeddedPostgres } from "../support/embedded-server";
import { holdTransaction, type HeldTransaction } from "../support/held-transaction";
import { migration } from "../support/migrations";
import { psqlNow } from "../support/psql-now";

let db: TestDatabase;
let client: Client;

beforeEach(async () => {
    db = await freshDatabase("attack_gap");
    client = await db.connect();
});

afterEach(async () => {
    await db.drop();
});

const recorded = async () => (await readRecords(client)).map((record) => record.identity);
const ledger = async () => (await readLedger(client)).map((row) => row.name);

/** Applies `migrations`, calling `gap` synchronously once `afterName` committed (onProgress is not awaited). */
async function applyWithGap(migrations: MigrationFile[], afterName: string, gap: () => void): Promise<Error | undefined> {
    return applyMigrations(await db.connect(), migrations, {
        variant: "jsonb",
        connect: () => db.connect(),
        onProgress: (progress) => {
            if (progress.name === afterName) {
                gap();
            }
        },
    }).then(
        () => undefined,
        (error: unknown) => error as Error,
    );
}

/** Another session's transaction, held open by psql, that took its xid and ran `sql` (held-transaction.ts). */
async function openTransaction(sql: string): Promise<HeldTransaction> {
    const other = await holdTransaction(db.url, `${db.name}_holder`, client, sql);
    // A later xid that completes: a snapshot's xmax (the latest completed xid + 1) passes the held one, which is then
    // in its xip rather than at or above its xmax.
    await client.query("begin; select pg_current_xact_id(); commit");
    return other;
}

const first = migration("0001_base.sql", "create table public.base (id int primary key);\n");
const replace = migration("0002_next.sql", "create or replace function public.app_fn() returns int language sql as 'select 2';\n");

describe("another session's transaction that got its xid before the previous migration read the catalog, and commits between the two", () => {
    it("a function it created, which the next migration replaces, is refused and never recorded", async () => {
        const other = await openTransaction("create function public.app_fn() returns int language sql as 'select 1'");
        const error = await applyWithGap([first, replace], first.name, () => other.commit());
        await other.end();

        expect(error?.message).toContain("function public.app_fn()");
        expect(await ledger()).toEqual([first.name]);
        expect(await recorded()).not.toContain("function public.app_fn()");
        expect((await client.query("select public.app_fn() as v")).rows[0].v).toBe(1);
    });

    it("an application table it dropped is not taken for one the next migration dropped", async () => {
        await client.query("create table public.app_scratch (id int)");
        const other = await openTransaction("drop table public.app_scratch");
        const error = await applyWithGap([first, migration("0002_other.sql", "create table public.other (id int);\n")], first.name, () =>
            other.commit(),
        );
        await other.end();

        expect(error).toBeUndefined();
        expect(await recorded()).toEqual(["table public.base", "index public.base_pkey", "table public.other"]);
    });
});

describe("a migration whose statements change nothing (if not exists), so its xids come from its bookkeeping alone", () => {
    it("a function another session commits after it, which the next migration replaces, is refused and never recorded", async () => {
        await client.query("create table public.base (id int primary key)");
        const noop = migration(
            "0001_noop.sql",
            "create table if not exists public.base (id int primary key);\ncreate index if not exists base_pkey on public.base (id);\n",
        );
        const error = await applyWithGap([noop, replace], noop.name, () =>
            psqlNow(db.url, "create function public.app_fn() returns int language sql as 'select 1'"),
        );

        expect(error?.message).toContain("function public.app_fn()");
        expect(await ledger()).toEqual([noop.name]);
        expect(await recorded()).toEqual([]);
        expect((await client.query("select public.app_fn() as v")).rows[0].v).toBe(1);
    });
});

describe("migrations of one run that change what an earlier one of the same run created", () => {
    it("renamed, replaced, then dropped: the records follow, nothing foreign is refused, nothing is left missing", async () => {
        const error = await applyWithGap(
            [
                migration(
                    "0001_make.sql",
                    "create table public.t (id int);\ncreate function public.stack_fn() returns int language sql as 'select 1';\n",
                ),
                migration(
                    "0002_rename.sql",
                    "alter table public.t rename to u;\ncreate or replace function public.stack_fn() returns int language sql as 'select 2';\n",
                ),
                migration("0003_drop.sql", "drop table public.u;\ndrop function public.stack_fn();\ncreate table public.kept (id int);\n"),
            ],
            "none",
            () => undefined,
        );

        expect(error).toBeUndefined();
        expect(await recorded()).toEqual(["table public.kept"]);
        expect(await missingRecorded(client)).toEqual([]);
    });
});

describe("a migration file that resets the session before the engine's bookkeeping runs in its transaction", () => {
    for (const reset of [
        "reset all",
        "set search_path = pg_temp, public",
        "discard temp",
        "set standard_conforming_strings = off",
        "set backslash_quote = on",
    ]) {
        it(`${reset}: its objects and the next migration's are recorded as they are named`, async () => {
            const awkward = `it's a \\ "name" $1 naïve`;
            const error = await applyWithGap(
                [
                    migration("0001_reset.sql", `${reset};\ncreate table public."${awkward.replaceAll('"', '""')}" (id int);\n`),
                    migration("0002_next.sql", "create table public.next (id int);\n"),
                ],
                "none",
                () => undefined,
            );

            expect(error).toBeUndefined();
            expect(await recorded()).toEqual([`table public."${awkward.replaceAll('"', '""')}"`, "table public.next"]);
            expect(await ledger()).toEqual(["0001_reset.sql", "0002_next.sql"]);
        });
    }
});

describe("a prepared transaction (two-phase commit) that created a function before the previous migration read the catalog, committed between the two", () => {
    // The shared test server allows no prepared transactions (max_prepared_transactions = 0): a server of this test's own.
    it("the function, which the next migration replaces, is refused and never recorded", async () => {
        const server = await startEmbeddedPostgres({ flags: ["-c", "max_prepared_transactions=2"] });
        try {
            const url = `postgresql://${server.user}:${encodeURIComponent(server.password)}@${server.host}:${server.port}/postgres`;
            const psql = (sql: string) => psqlNow(url, sql);
            const connect = async () => {
                const other = new PgClient({
                    host: server.host,
                    port: server.port,
                    user: server.user,
                    password: server.password,
                    database: "postgres",
                });
                await other.connect();
                return other;
            };
            psql("begin; create function public.app_fn() returns int language sql as 'select 1'; prepare transaction 'app_2pc'");
            // A later xid completes, so the prepared one is in the snapshots' xip (see openTransaction).
            psql("select pg_current_xact_id()");
            const migrating = await connect();
            const error = await applyMigrations(migrating, [first, replace], {
                variant: "jsonb",
                connect,
                onProgress: (progress) => {
                    if (progress.name === first.name) {
                        psql("commit prepared 'app_2pc'");
                    }
                },
            }).then(
                () => undefined,
                (failure: unknown) => failure as Error,
            );

            await migrating.end();
            const reader = await connect();
            try {
                expect(error?.message).toContain("function public.app_fn()");
                expect((await readRecords(reader)).map((record) => record.identity)).not.toContain("function public.app_fn()");
                expect((await reader.query("select public.app_fn() as v")).rows[0].v).toBe(1);
            } finally {
                await reader.end();
            }
        } finally {
            await server.stop();
        }
    });
});
