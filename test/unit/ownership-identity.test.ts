// The rules of engine/migrate/identity.ts on their own: when a recorded oid may be compared (same
// origin, both known), what counts as a name someone else took over, and which records follow an
// object the stack itself created again.
import { describe, expect, it } from "vitest";
import { isReused, renewedRecords, replacedObjects, reusedRecords } from "../../engine/migrate/identity";
import type { RecordedObject } from "../../engine/migrate/ownership";
import type { CatalogObject } from "../../engine/migrate/snapshot";

const HERE = ["7301234567890123456/16384"];

const object = (name: string, oid: number | null, created: boolean | null = false): CatalogObject => ({
    identity: `view public.${name}`,
    kind: "view",
    schema: "public",
    name,
    parent: null,
    arguments: null,
    oid,
    created,
});

const record = (name: string, oid: number | null, origin: string | null = HERE[0]): RecordedObject => ({
    ...object(name, oid),
    origin,
    position: 1,
    migration: "0006_views.sql",
    adopted: false,
});

const catalog = (...objects: CatalogObject[]) => new Map(objects.map((o) => [o.identity, o]));

describe("isReused", () => {
    it("is true only for another oid, recorded here, with the origin known now", () => {
        expect(isReused(record("v", 100), 200, HERE)).toBe(true);
        expect(isReused(record("v", 100), 100, HERE)).toBe(false);
        expect(isReused(record("v", 100), null, HERE)).toBe(false); // gone (or a column): missing, not reused
    });

    it("goes by name alone when the oid cannot be compared", () => {
        expect(isReused(record("v", 100, "1/1"), 200, HERE)).toBe(false); // recorded in another database
        expect(isReused(record("v", null, null), 200, HERE)).toBe(false); // recorded before oids
        expect(isReused(record("v", 100, null), 200, [])).toBe(false); // pg_control_system() not callable, then and now
        expect(isReused(record("v", 100), 200, [])).toBe(false); // not callable now
    });
});

describe("reusedRecords", () => {
    it("lists the records whose name holds another object now", () => {
        const records = [record("a", 1), record("b", 2), record("c", 3)];
        expect(reusedRecords(records, catalog(object("a", 1), object("b", 20)), HERE).map((r) => r.name)).toEqual(["b"]);
    });
});

describe("replacedObjects", () => {
    it("lists what is under the same name in both reads with another oid", () => {
        const before = catalog(object("a", 1), object("b", 2), object("c", null));
        const after = catalog(object("a", 1), object("b", 22), object("c", null));
        expect(replacedObjects(before, after).map((o) => o.name)).toEqual(["b"]);
    });
});

describe("renewedRecords", () => {
    it("follows an object the transaction created anew or dropped and created again while it was the stack's", () => {
        const records = [record("missing", 1), record("replaced", 2), record("same", 3)];
        const before = catalog(object("replaced", 2), object("same", 3));
        const after = catalog(object("missing", 10, true), object("replaced", 20, true), object("same", 3));
        expect(renewedRecords(records, before, after, new Set(["view public.missing"]), HERE)).toEqual([
            { identity: "view public.missing", oid: 10 },
            { identity: "view public.replaced", oid: 20 },
        ]);
    });

    it("never follows another session's object, nor one under a name someone else took over", () => {
        const records = [record("theirs", 2), record("reused", 3)];
        const before = catalog(object("theirs", 2), object("reused", 30));
        const after = catalog(object("theirs", 21, false), object("reused", 31, true));
        expect(renewedRecords(records, before, after, new Set(), HERE)).toEqual([]);
    });

    it("gives records from another database the oid of what the stack created here", () => {
        const records = [record("restored", 5, "1/1")];
        const after = catalog(object("restored", 50, true));
        expect(renewedRecords(records, catalog(), after, new Set(["view public.restored"]), HERE)).toEqual([
            { identity: "view public.restored", oid: 50 },
        ]);
    });
});
