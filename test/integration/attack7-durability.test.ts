// attack7: "when apply returns, every commit is durable" (2e923ef) on a server of its own whose WAL writer
// waits 10 s between flushes, crashed (immediate shutdown: unwritten WAL buffers are gone) right after.
// - A database (or role) with synchronous_commit = off: the run's flush is itself a commit at the session's
//   synchronous_commit, so it waits for nothing, and the apply returns with its last migrations in memory.
//   (Before 2e923ef those commits did not wait either: the claim is what is new, not the loss.)
// (A crash while a later migration of the run is under way may lose the ones before it that the run already
// reported, whole: by design, docs/migrations-safety.md; lifecycle-faults.test.ts pins that a whole prefix stays.)
// - SIGINT to `memory-stack apply` (cli/interrupt.ts): the process cancels, closes and exits 130 saying "what
//   finished stays recorded", without the flush at the lock's release; a crash then loses what it printed.
import { Client } from "pg";
import { describe, expect, it } from "vitest";
import { applyMigrations, readLedger } from "../../engine/migrate/index";
import { startCli } from "../support/cli";
import { slowWalServer } from "../support/slow-wal-server";
import { migration } from "../support/migrations";
import { until } from "../support/poll";

const { server, connect } = slowWalServer();

async function withDatabase<T>(name: string, work: (client: Client) => Promise<T>): Promise<T> {
    const client = await connect(name);
    try {
        return await work(client);
    } finally {
        await client.end().catch(() => undefined);
    }
}

describe("an apply on a database whose synchronous_commit is off, then a server crash", () => {
    it("keeps every migration the apply reported applied", async () => {
        await withDatabase("postgres", (admin) => admin.query("create database attack7_async"));
        await withDatabase("postgres", (admin) => admin.query("alter database attack7_async set synchronous_commit = off"));
        const files = Array.from({ length: 3 }, (_, i) => migration(`000${i + 1}_t.sql`, `create table public.async_${i} (id int);\n`));
        const result = await withDatabase("attack7_async", (migrating) => applyMigrations(migrating, files, { variant: "jsonb" }));
        expect(result.applied.map((item) => item.name)).toEqual(files.map((file) => file.name));

        await server().crash();
        await server().restart();

        // Fails: the ledger lacks the last migrations: the flush at the lock's release committed
        // at the database's synchronous_commit = off, so it did not wait for the WAL to reach the disk.
        expect(await withDatabase("attack7_async", async (after) => (await readLedger(after)).map((row) => row.name))).toEqual(
            files.map((file) => file.name),
        );
    });
});

describe("SIGINT to memory-stack apply while a migration waits for the application's lock, then a server crash", () => {
    it("keeps what the command printed applied and said stays recorded", async () => {
        await withDatabase("postgres", (admin) => admin.query("create database attack7_sigint"));
        const holder = await connect("attack7_sigint");
        holder.on("error", () => undefined); // the crash ends it
        // The application's users table, read in an open transaction: 0002_users.sql's alter waits for it.
        await holder.query("create table public.users (id uuid primary key, email text)");
        await holder.query("begin");
        await holder.query("select count(*) from public.users");
        const { user, password, host, port } = server();
        const url = `postgresql://${user}:${encodeURIComponent(password)}@${host}:${port}/attack7_sigint`;
        const run = startCli(
            ["apply", "--app-role", "attack7_sigint_app", "--admin-role", "attack7_sigint_admin", "--lock-deadline", "120"],
            {
                DATABASE_URL: url,
            },
        );
        await until(
            "0001 printed applied and 0002 waiting",
            () =>
                /applied 0001_foundation\.sql/.test(run.stderrSoFar()) && /waiting for a lock: 0002_users\.sql/.test(run.stderrSoFar())
                    ? true
                    : undefined,
            30_000,
        );
        run.child.kill("SIGINT");
        const ended = await run.ended;
        expect(ended.code, ended.stderr).toBe(130);
        expect(ended.stderr).toContain("what finished stays recorded");

        await server().crash();
        await holder.end().catch(() => undefined);
        await server().restart();

        // Fails: 0001_foundation.sql, printed applied, is not in the ledger after the restart (no ledger at all).
        expect(await withDatabase("attack7_sigint", async (after) => (await readLedger(after)).map((row) => row.name))).toEqual([
            "0001_foundation.sql",
        ]);
    }, 60_000);
});
