// What the lock messages tell a user to do names the session to end, and a duration that includes
// lock waits says so.
import { describe, expect, it } from "vitest";
import { LockDeadlineError } from "../../engine/migrate/bounded";
import { describeWaits } from "../../engine/migrate/session";

const blocker = (pid: number) => ({
    pid,
    applicationName: "billing-worker",
    state: "idle in transaction",
    transactionMs: 12_300,
    relation: "public.sessions",
});

describe("the message at the lock deadline", () => {
    it("puts the blocking pid in the statement that ends it", () => {
        const message = new LockDeadlineError("0004_indexes.sql", 300_000, 40, [blocker(4242)], "Nothing of 0004_indexes.sql was applied.")
            .message;

        expect(message).toContain("was blocked on public.sessions by pid 4242 (billing-worker, idle in transaction");
        expect(message).toContain("End that transaction (select pg_terminate_backend(4242)) or let it finish, then run again;");
        expect(message).not.toContain("<pid>");
    });

    it("names each blocker when there are several", () => {
        const message = new LockDeadlineError("the rollback", 3_000, 5, [blocker(11), blocker(12)], "Nothing was dropped.").message;

        expect(message).toContain(
            "End those transactions (select pg_terminate_backend(11); select pg_terminate_backend(12)) or let them finish",
        );
    });
});

describe("a duration with lock waits in it", () => {
    it("says which waits it includes, and nothing when there were none", () => {
        expect(describeWaits({ migrationLockMs: 0, retries: 0 })).toBe("");
        expect(describeWaits({ migrationLockMs: 0, retries: 1 })).toBe(" (lock waits included: 1 retry after lock_timeout)");
        expect(describeWaits({ migrationLockMs: 5_200, retries: 3 })).toBe(
            " (lock waits included: 5.2 s for the migration lock, 3 retries after lock_timeout)",
        );
    });
});
