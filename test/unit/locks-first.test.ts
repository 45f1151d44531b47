// The locks a retried migration transaction takes first (engine/migrate/locks-first.ts): the table it
// waited for, in the mode it asked for, the latest wait first, one mode covering both where a table was
// waited for twice; nothing for a mode pg_locks never reports.
import { describe, expect, it } from "vitest";
import { LocksFirst } from "../../engine/migrate/locks-first";

const locked = (first: LocksFirst) =>
    [...first.statement().matchAll(/c\.oid operator\(pg_catalog\.=\) (\d+)::pg_catalog\.oid;.*?lock table only %s in ([a-z ]+) mode/g)].map(
        (m) => `${m[1]} ${m[2]}`,
    );

describe("LocksFirst", () => {
    it("takes nothing before any wait", () => {
        expect(new LocksFirst(500).statement()).toBe("");
    });

    it("takes the tables waited for, the latest first, each in the mode asked for", () => {
        const first = new LocksFirst(500);
        first.learn({ oid: 16401, mode: "AccessExclusiveLock", startedAfterMs: 20 });
        first.learn({ oid: 16410, mode: "ShareRowExclusiveLock", startedAfterMs: 20 });
        expect(locked(first)).toEqual(["16410 share row exclusive", "16401 access exclusive"]);
        first.learn({ oid: 16401, mode: "RowExclusiveLock", startedAfterMs: 20 });
        expect(locked(first)).toEqual(["16401 access exclusive", "16410 share row exclusive"]);
    });

    it("covers SHARE and SHARE UPDATE EXCLUSIVE with SHARE ROW EXCLUSIVE, as neither conflicts with all the other does", () => {
        const first = new LocksFirst(500);
        first.learn({ oid: 16401, mode: "ShareLock", startedAfterMs: 20 });
        first.learn({ oid: 16401, mode: "ShareUpdateExclusiveLock", startedAfterMs: 20 });
        expect(locked(first)).toEqual(["16401 share row exclusive"]);
    });

    it("skips a table dropped or no longer the deployer's to lock, rather than failing the migration, and ignores unknown modes", () => {
        const first = new LocksFirst(500);
        first.learn({ oid: 16401, mode: "SIReadLock", startedAfterMs: 20 });
        first.learn(undefined);
        first.learn({ oid: Number.NaN, mode: "ExclusiveLock", startedAfterMs: 20 });
        expect(first.statement()).toBe("");
        first.learn({ oid: 16401, mode: "ExclusiveLock", startedAfterMs: 20 });
        expect(first.statement()).toMatch(/exception when undefined_table or wrong_object_type or insufficient_privilege then null/);
    });

    it("learns no wait that began later into its transaction than lock_timeout: its lock would be held that much longer", () => {
        const first = new LocksFirst(500);
        first.learn({ oid: 16401, mode: "RowExclusiveLock", startedAfterMs: 499 });
        first.learn({ oid: 16401, mode: "AccessExclusiveLock", startedAfterMs: 2_000 });
        first.learn({ oid: 16410, mode: "AccessExclusiveLock", startedAfterMs: Number.NaN });
        expect(locked(first)).toEqual(["16401 row exclusive"]);
    });
});
