// A session's first catalog read prepares the engine's statements in its own round trip, with what the caller sends
// before the read. When that query fails after its PREPAREs ran, the statements stay on the server (a rollback does
// not undo a PREPARE): the next read must prepare them under new names, not fail with "prepared statement ... already
// exists". And a first migration whose read waits past lock_timeout on a catalog another session holds is retried
// whole, its begin (the ledger, the catalog's shape, the origin) with it, and applies once the lock is gone.
import type { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { applyMigrations, readLedger } from "../../engine/migrate/index";
import { snapshot } from "../../engine/migrate/snapshot";
import { freshDatabase, type TestDatabase } from "../support/database";
import { migration } from "../support/migrations";
import { until } from "../support/poll";

let db: TestDatabase;
let holder: Client;
let watcher: Client;

beforeAll(async () => {
    db = await freshDatabase("first_read_lock");
    holder = await db.connect();
    watcher = await db.connect();
});

afterAll(async () => {
    await holder?.end();
    await watcher?.end();
    await db?.drop();
});

describe("a first catalog read whose query fails after its PREPAREs", () => {
    it("leaves the next read to prepare the statements under new names", async () => {
        const client = await db.connect();
        try {
            await client.query("begin");
            await expect(snapshot(client, ["select 1 / 0"])).rejects.toThrow(/division by zero/);
            await client.query("rollback");
            // Fails with "prepared statement ... already exists" when the names are kept.
            await client.query("begin");
            expect((await snapshot(client)).size).toBeGreaterThan(0);
            await client.query("rollback");
        } finally {
            await client.end();
        }
    });
});

describe("a first migration whose catalog read waits past lock_timeout", () => {
    it("is retried once the lock is gone, and applies", async () => {
        // pg_policy is read by the catalog read alone: the begin before it (the ledger, the catalog's shape) never touches it.
        await holder.query("begin; lock table pg_catalog.pg_policy in access exclusive mode");
        const waits: string[] = [];
        const client = await db.connect();
        try {
            const applying = applyMigrations(client, [migration("0001_first.sql", "create table public.first_read (id int);")], {
                variant: "jsonb",
                locks: { timeoutMs: 100, deadlineSeconds: 30 },
                onWait: (line) => waits.push(line),
                connect: () => db.connect(),
            });
            // The read timed out at least once, and the migration was rolled back for a retry, before the lock goes.
            await until("a retry of the first migration", () => (waits.length > 0 ? true : undefined), 20_000);
            await holder.query("commit");
            const result = await applying;
            expect(result.applied.map((applied) => applied.name)).toEqual(["0001_first.sql"]);
            expect(result.waits.retries).toBeGreaterThan(0);
            expect((await readLedger(watcher)).map((row) => row.name)).toEqual(["0001_first.sql"]);
        } finally {
            await holder.query("rollback").catch(() => undefined);
            await client.end();
        }
    });
});
