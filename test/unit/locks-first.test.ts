// The locks a retried migration transaction takes first (engine/migrate/locks-first.ts): the table it
// waited for, in the mode it asked for, the latest wait first, one mode covering both where a table was
// waited for twice; nothing for a mode pg_locks never reports.
import { describe, expect, it } from "vitest";
import { LocksFirst } from "../../engine/migrate/locks-first";

const locked = (first: LocksFirst) => [...first.statement().matchAll(/lock table (.+?) in ([a-z ]+) mode;/g)].map((m) => `${m[1]} ${m[2]}`);

describe("LocksFirst", () => {
    it("takes nothing before any wait", () => {
        expect(new LocksFirst().statement()).toBe("");
    });

    it("takes the tables waited for, the latest first, each in the mode asked for", () => {
        const first = new LocksFirst();
        first.learn({ table: "public.notes", mode: "AccessExclusiveLock" });
        first.learn({ table: '"My App".tags', mode: "ShareRowExclusiveLock" });
        expect(locked(first)).toEqual(['"My App".tags share row exclusive', "public.notes access exclusive"]);
        first.learn({ table: "public.notes", mode: "RowExclusiveLock" });
        expect(locked(first)).toEqual(["public.notes access exclusive", '"My App".tags share row exclusive']);
    });

    it("covers SHARE and SHARE UPDATE EXCLUSIVE with SHARE ROW EXCLUSIVE, as neither conflicts with all the other does", () => {
        const first = new LocksFirst();
        first.learn({ table: "public.notes", mode: "ShareLock" });
        first.learn({ table: "public.notes", mode: "ShareUpdateExclusiveLock" });
        expect(locked(first)).toEqual(["public.notes share row exclusive"]);
    });

    it("skips a table dropped or no longer the deployer's to lock, rather than failing the migration, and ignores unknown modes", () => {
        const first = new LocksFirst();
        first.learn({ table: "public.notes", mode: "SIReadLock" });
        first.learn(undefined);
        expect(first.statement()).toBe("");
        first.learn({ table: "public.notes", mode: "ExclusiveLock" });
        expect(first.statement()).toMatch(/exception when undefined_table or wrong_object_type or insufficient_privilege then null/);
    });
});
