// namedBy keeps the last options' names (an apply asks once per migration): other options get their own.
import { describe, expect, it } from "vitest";
import { namedBy } from "../../../engine/migrate/appeared";
import { DEFAULT_SCHEMA_OPTIONS } from "../../../engine/migrate/render";
import type { CatalogObject } from "../../../engine/migrate/snapshot";

const policy: CatalogObject = {
    identity: "policy public.cognitive_metrics.cognitive_metrics_own_rows",
    kind: "policy",
    schema: "public",
    name: "cognitive_metrics_own_rows",
    parent: "cognitive_metrics",
    arguments: null,
    oid: 1,
    created: true,
};

describe("namedBy", () => {
    it("names what the options in force create, whichever options it was asked for before", () => {
        const withRls = { ...DEFAULT_SCHEMA_OPTIONS, rls: true };
        const withoutRls = { ...DEFAULT_SCHEMA_OPTIONS, rls: false };

        expect(namedBy(withRls)(policy)).toBe(true);
        expect(namedBy(withRls)).toBe(namedBy({ ...withRls }));
        expect(namedBy(withoutRls)(policy)).toBe(false);
        expect(namedBy(withRls)(policy)).toBe(true);
        withoutRls.rls = true;
        expect(namedBy(withoutRls)(policy)).toBe(true);
    });
});
