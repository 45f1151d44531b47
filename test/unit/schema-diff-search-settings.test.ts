// The schema resource's diff and the stack's pgvector search settings: a change of them is an update
// (never a replacement), and a stack that sets none sees no change from the key's existence.
import { describe, expect, it } from "vitest";
import { diff, STATE_VERSION, type SchemaMigrationInputs, type SchemaMigrationOutputs } from "../../engine/providers/schema-migration";

const inputs: SchemaMigrationInputs = {
    connection: { host: "localhost", port: 5432, user: "postgres", password: "secret-pass", database: "ybryx" },
    migrations: [{ name: "0001_foundation.sql", sql: "select 1", checksum: "c1" }],
    checksum: "sum",
    variant: "vector(1536,hnsw)",
    rollbackSql: "select 1",
    schema: { vector: true, vectorDimensions: 1536, vectorIndex: "hnsw", rls: true, appRole: "memory_app", adminRole: "memory_admin" },
    locks: { timeoutMs: 500, deadlineSeconds: 300 },
    allowDataLoss: false,
    readinessTimeoutMs: 1000,
    objects: ["table sessions"],
};
const state = (extra: Partial<SchemaMigrationOutputs> = {}): SchemaMigrationOutputs => ({
    ...inputs,
    stateVersion: STATE_VERSION,
    version: "0001_foundation.sql",
    appliedMigrations: ["0001_foundation.sql"],
    missing: [],
    ...extra,
});

describe("diff and the search settings", () => {
    it("sees no change when neither the state nor the program sets any", () => {
        expect(diff("id", state(), inputs)).toEqual({ changes: false, replaces: [], deleteBeforeReplace: false });
    });

    it("updates when a setting is added, changed or removed, and never replaces", () => {
        for (const [olds, news] of [
            [state(), { ...inputs, searchSettings: { hnswEfSearch: 100 } }],
            [state({ searchSettings: { hnswEfSearch: 100 } }), { ...inputs, searchSettings: { hnswEfSearch: 120 } }],
            [state({ searchSettings: { hnswEfSearch: 100 } }), inputs],
        ] as const) {
            expect(diff("id", olds, news)).toEqual({ changes: true, replaces: [], deleteBeforeReplace: false });
        }
        expect(
            diff("id", state({ searchSettings: { hnswEfSearch: 100 } }), { ...inputs, searchSettings: { hnswEfSearch: 100 } }).changes,
        ).toBe(false);
    });
});
