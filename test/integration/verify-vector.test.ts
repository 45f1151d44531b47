// The verification engine on the pgvector variant (PGlite + pgvector over the wire, one session):
// a freshly applied vector schema passes with its two ANN indexes, and a dropped ANN index or an
// embedding function with the wrong body is named in the report.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Client } from "pg";
import { applyMigrations, describeVariant } from "../../engine/migrate/index";
import type { SchemaOptions } from "../../engine/migrate/render";
import { formatReport, verifySchema } from "../../engine/verify/index";
import { expectationsFor, type Expectations } from "../../engine/verify/expected";
import { DEFAULT_OPTIONS, migrationsFor } from "../support/apply-sql";
import { startPgliteServer, type PgliteServer } from "../support/pglite-server";
import { grantStackPrivileges } from "../support/schema-db";
import { databaseTrace } from "../support/verify-trace";

const options: SchemaOptions = { ...DEFAULT_OPTIONS, vector: true };

let server: PgliteServer;
let client: Client;
let expected: Expectations;

beforeAll(async () => {
    server = await startPgliteServer();
    client = new Client(server);
    await client.connect();
    const migrations = migrationsFor(options);
    await applyMigrations(client, migrations, { variant: describeVariant(options) });
    await grantStackPrivileges(client, options);
    expected = await expectationsFor(options, migrations);
}, 120_000);

afterAll(async () => {
    await client?.end();
    await server?.stop();
});

describe("a freshly applied vector schema", () => {
    it("passes, with the seed's counts plus one ANN index per embedding column, and leaves no trace", async () => {
        const before = await databaseTrace(client);

        const report = await verifySchema(client, expected);

        expect(report.problems).toEqual([]);
        expect(report.skipped).toEqual([]);
        expect(report.ok).toBe(true);
        expect(report.variant).toBe("vector(3,hnsw)");
        expect(report.counts).toMatchObject({ tables: 7, views: 3, functions: 4, triggers: 4, indexes: 51, extensions: 2 });
        expect(report.roundTrips.catalog).toBeLessThanOrEqual(3);
        expect(await databaseTrace(client)).toEqual(before);
        console.log(
            `verification on PGlite (vector): ${report.durationMs} ms, round trips: catalog ${report.roundTrips.catalog}, ` +
                `behaviour checks ${report.roundTrips.functional}`,
        );
    });

    it("names a dropped ANN index and a similarity function with the wrong body", async () => {
        await client.query("drop index idx_goal_assessments_goal_vector");
        await client.query(`create or replace function public.match_beliefs(query_embedding vector, match_count integer default 10,
                filter_user_id uuid default null, candidates integer default null, exact boolean default false)
            returns table (id uuid, user_id uuid, agent_name text, belief_text text, subject text, predicate text, object text,
                           confidence double precision, similarity double precision)
            language sql stable set search_path from current
            as $$ select b.id, b.user_id, b.agent_name, b.belief_text, b.subject, b.predicate, b.object, b.confidence, 1::double precision
                  from public.belief_graphs b limit match_count $$`);

        const report = await verifySchema(client, expected);

        expect(report.ok).toBe(false);
        expect(report.problems.map((p) => `${p.kind} ${p.name}: ${p.issue}`)).toEqual([
            "index goal_assessments.idx_goal_assessments_goal_vector: missing",
            "function public.match_beliefs(query_embedding vector, match_count integer, filter_user_id uuid, candidates integer, exact boolean): " +
                "body differs from the one in 0017_similarity_vector.sql",
        ]);
        expect(formatReport(report)).toContain("index goal_assessments.idx_goal_assessments_goal_vector: missing");
    });
});
