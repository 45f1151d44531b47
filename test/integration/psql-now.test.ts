// The synchronous psql of the tests (psql-now.ts) and the psql session they hold a transaction in
// (held-transaction.ts) block this process's event loop while they wait, so each must end on its own: a
// lock this process holds, or a psql that cannot connect, once stopped the test worker for good.
import { afterAll, describe, expect, it } from "vitest";
import { freshDatabase, type TestDatabase } from "../support/database";
import { holdTransaction } from "../support/held-transaction";
import { psqlNow } from "../support/psql-now";

let db: TestDatabase;

afterAll(async () => {
    await db?.drop();
});

function attempt(work: () => void): Error | undefined {
    try {
        work();
    } catch (error) {
        return error as Error;
    }
    return undefined;
}

describe("psql run from a callback the engine does not await", () => {
    it("fails, naming the lock timeout, when its statement waits for a lock this process holds", async () => {
        db = await freshDatabase("psql_now");
        const holder = await db.connect();
        await holder.query("create table public.held (id int)");
        await holder.query("begin; lock table public.held");
        const failed = attempt(() => psqlNow(db.url, "drop table public.held"));
        expect(failed?.message).toMatch(/canceling statement due to lock timeout/);
        expect(failed?.message).not.toContain(db.server.password);
        await holder.query("commit");
        psqlNow(db.url, "drop table public.held");
    });

    it("a held transaction whose psql cannot connect fails, saying so, and blocks nothing meanwhile", async () => {
        db ??= await freshDatabase("psql_now");
        const observer = await db.connect();
        let ticks = 0;
        const timer = setInterval(() => ticks++, 10);
        try {
            await expect(holdTransaction(`${db.url}_missing`, "held-missing", observer, "select 1")).rejects.toThrow(
                /psql ended \(exit 2\) before it held its transaction/,
            );
        } finally {
            clearInterval(timer);
        }
        expect(ticks).toBeGreaterThan(0);
    });
});
