// The application load the under-load tests run (test/support/app-load.ts) when the server ends its
// connections, as an afterAll's `drop database … with (force)` does after a test timed out. A closed pg
// client fails every query within the same tick: a loop that kept going never let a timer run, so no
// test timeout fired while its errors filled the worker's heap (CI: out of memory after 20 minutes). A loop
// whose every transaction fails on a live connection would fill it too, only more slowly.
import { afterAll, describe, expect, it } from "vitest";
import { MAX_LOOP_ERRORS, transactionLoop } from "../support/app-load";
import { freshDatabase, type TestDatabase } from "../support/database";

let db: TestDatabase;

afterAll(async () => {
    await db?.drop();
});

describe("a transaction loop whose connection the server ends", () => {
    it("stops with the server's error, and lets timers run meanwhile", async () => {
        db = await freshDatabase("app_load_lost");
        const client = await db.connect({ application_name: "doomed-agent" });
        const admin = await db.connect();
        const { pid } = (await client.query<{ pid: number }>("select pg_backend_pid() as pid")).rows[0];
        const errors: string[] = [];
        // A bound, so that a loop that would spin forever stops and fails this test instead of the run.
        let calls = 0;
        const BOUND = 50_000;
        let ticks = 0;
        const timer = setInterval(() => ticks++, 1);
        try {
            let terminated = false;
            await transactionLoop(
                client,
                "agent",
                errors,
                () => calls >= BOUND,
                async () => {
                    calls++;
                    await client.query("select 1");
                    if (!terminated) {
                        terminated = true;
                        await admin.query("select pg_terminate_backend($1)", [pid]);
                    }
                },
            );
        } finally {
            clearInterval(timer);
        }
        expect(calls).toBeLessThan(100);
        expect(errors.at(-1)).toBe("agent: stopped, the server ended its connection");
        expect(errors.length).toBeLessThan(100);
        expect(ticks).toBeGreaterThan(0);
    });
});

describe("a transaction loop that fails every time on a connection that stays", () => {
    it("gives up after MAX_LOOP_ERRORS failed transactions, so its errors cannot fill the heap", async () => {
        db ??= await freshDatabase("app_load_lost");
        const client = await db.connect({ application_name: "failing-agent" });
        const errors: string[] = [];
        let calls = 0;
        const BOUND = 50_000;
        await transactionLoop(
            client,
            "agent",
            errors,
            () => calls >= BOUND,
            async () => {
                calls++;
                await client.query("select 1 / 0");
            },
        );
        expect(calls).toBe(MAX_LOOP_ERRORS);
        expect(errors).toHaveLength(MAX_LOOP_ERRORS + 1);
        expect(errors[0]).toBe("agent: division by zero");
        expect(errors.at(-1)).toBe(`agent: stopped after ${MAX_LOOP_ERRORS} failed transactions`);
    });
});
