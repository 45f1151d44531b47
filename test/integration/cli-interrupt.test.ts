// Ctrl-C during a command: the statement the server is running for it stops at once (closing the socket
// alone would leave the backend waiting in the lock queue, blocking the application behind it, until
// lock_timeout), the command says what was kept and exits 130, and nothing is half-applied.
import { performance } from "node:perf_hooks";
import type { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { main } from "../../cli/main";
import { cli, startCli } from "../support/cli";
import { dropRoles, freshDatabase, sharedServer, type TestDatabase } from "../support/database";
import { until } from "../support/poll";

let db: TestDatabase;
let roles: string[];
let holder: Client;
let observer: Client;

beforeAll(async () => {
    db = await freshDatabase("cli_interrupt");
    roles = ["--app-role", `${db.name}_app`, "--admin-role", `${db.name}_admin`];
    const apply = await cli(["apply", ...roles], { DATABASE_URL: db.url });
    expect(apply.code, apply.stderr).toBe(0);
    holder = await db.connect({ application_name: "billing-worker" });
    observer = await db.connect();
});

afterAll(async () => {
    await holder?.end();
    await observer?.end();
    await db?.drop();
    await dropRoles(sharedServer(), [`${db.name}_app`, `${db.name}_admin`]);
});

const backendsOf = async (name: string) =>
    (
        await observer.query<{ state: string; wait: string | null }>(
            "select state, wait_event_type as wait from pg_stat_activity where application_name = $1 and datname = current_database()",
            [name],
        )
    ).rows;

describe("SIGINT while a rollback waits for a lock the application holds", () => {
    it("cancels the waiting statement, rolls it back, says so and exits 130", async () => {
        await holder.query("begin");
        await holder.query("select count(*) from sessions");
        const run = startCli(["rollback", "--allow-data-loss", "--lock-timeout", "60000", "--lock-deadline", "120", ...roles], {
            DATABASE_URL: db.url,
        });
        await until("the rollback waiting on the application's lock", async () =>
            (await backendsOf("memory-stack-cli-rollback")).some((backend) => backend.wait === "Lock") ? true : undefined,
        );

        const signalled = performance.now();
        run.child.kill("SIGINT");
        const ended = await run.ended;
        const backendsLeft = await backendsOf("memory-stack-cli-rollback");
        console.log(`rollback stopped ${Math.round(performance.now() - signalled)} ms after SIGINT`);

        expect(ended.code, ended.stderr).toBe(130);
        expect(ended.stderr).toContain("memory-stack rollback: SIGINT: stopping; the statement under way is cancelled and rolled back");
        // With the socket merely closed, the backend would still wait in the lock queue here, for up to 60 s.
        expect(backendsLeft).toEqual([]);
        await holder.query("commit");
        const tables = await observer.query("select to_regclass('public.sessions') as sessions, to_regclass('public.memory_logs') as logs");
        expect(tables.rows[0]).toEqual({ sessions: "sessions", logs: "memory_logs" });
        const status = await cli(["status", ...roles], { DATABASE_URL: db.url });
        expect(status.code, status.stdout + status.stderr).toBe(0);
    });
});

describe("SIGTERM under --json while a rollback waits for a lock", () => {
    // From attack24: stdout was empty, or held the cancelled statement's own error, for a pipeline reading the JSON.
    it("prints one JSON document that says the command was stopped, exit 130, and no failure of the cancelled statement", async () => {
        await holder.query("begin");
        await holder.query("select count(*) from sessions");
        const run = startCli(["rollback", "--json", "--allow-data-loss", "--lock-timeout", "60000", "--lock-deadline", "120", ...roles], {
            DATABASE_URL: db.url,
        });
        await until("the rollback waiting on the application's lock", async () =>
            (await backendsOf("memory-stack-cli-rollback")).some((backend) => backend.wait === "Lock") ? true : undefined,
        );

        run.child.kill("SIGTERM");
        const ended = await run.ended;
        await holder.query("commit");

        expect(ended.code, ended.stderr).toBe(130);
        expect(JSON.parse(ended.stdout)).toEqual({
            ok: false,
            command: "rollback",
            exitCode: 130,
            error: expect.stringMatching(/^SIGTERM: stopping; the statement under way is cancelled and rolled back/),
        });
        expect(ended.stderr).not.toContain("rollback failed");
    });
});

describe("SIGTERM under --json when the cancelled statement fails before the process exits", () => {
    // The exit waits for the cancel's connection, so which comes first is the machine's timing: in process, with
    // process.exit held, the cancelled rollback always fails first, and that failure must still go unreported.
    it("says only that it was stopped and returns 130", async () => {
        const exit = vi.spyOn(process, "exit").mockImplementation((() => undefined) as never);
        const before = new Set(process.listeners("SIGTERM"));
        const out = { stdout: [] as string[], stderr: [] as string[] };
        await holder.query("begin");
        await holder.query("select count(*) from sessions");
        try {
            const running = main(
                ["rollback", "--json", "--allow-data-loss", "--lock-timeout", "60000", "--lock-deadline", "120", ...roles],
                { DATABASE_URL: db.url },
                { stdout: (text) => out.stdout.push(text), stderr: (text) => out.stderr.push(text) },
            );
            await until("the rollback waiting on the application's lock", async () =>
                (await backendsOf("memory-stack-cli-rollback")).some((backend) => backend.wait === "Lock") ? true : undefined,
            );
            const onSignal = process.listeners("SIGTERM").find((listener) => !before.has(listener));
            expect(onSignal, "the command's SIGTERM listener").toBeDefined();
            onSignal!("SIGTERM");

            expect(await running).toBe(130);
            await until("the exit after the cancel", () => (exit.mock.calls.length > 0 ? true : undefined));
            expect(exit.mock.calls).toEqual([[130]]);
            expect(out.stdout.map((text) => JSON.parse(text) as unknown)).toEqual([
                expect.objectContaining({ ok: false, command: "rollback", exitCode: 130 }),
            ]);
            expect(out.stderr.join("\n")).not.toContain("rollback failed");
        } finally {
            exit.mockRestore();
            await holder.query("commit");
        }
    });
});
