// The switch's index builds on PGlite + pgvector: halfvec above pgvector's 2000-dimension limit, and
// maintenance_work_mem sized for the build, with pgvector's notice passed on by the CLI when it is not.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Client } from "pg";
import type { SchemaOptions } from "../../engine/migrate/render";
import { expectationsFor, verifySchema } from "../../engine/verify/index";
import { grantStackPrivileges } from "../support/schema-db";
import { cli } from "../support/cli";
import type { PgliteServer } from "../support/pglite-server";
import { apply, columnType, jsonb, program, start, urlOf, USER, vector } from "../support/vector-switch";

describe("embeddings above pgvector's 2000-dimension index limit", () => {
    const wide: SchemaOptions = { ...vector, vectorDimensions: 3072 };
    let server: PgliteServer;
    let client: Client;
    const embedding = (first: number) => JSON.stringify([first, ...Array.from({ length: 3071 }, (_, i) => ((i % 17) - 8) / 8)]);

    beforeAll(async () => {
        ({ server, client } = await start());
        await apply(client, { ...wide, vector: false });
        await client.query("insert into users (id, email) values ($1, 'ada@example.com')", [USER]);
        await client.query(
            `insert into goal_assessments (user_id, agent_name, goal_text, goal_vector) values ($1, 'a', 'one', $2), ($1, 'a', 'two', $3), ($1, 'a', 'too big for halfvec', $4)`,
            [USER, embedding(1), embedding(-1), embedding(70000)],
        );
    }, 120_000);

    afterAll(async () => {
        await client?.end();
        await server?.stop();
    });

    it("refuses a value halfvec cannot hold, naming it, before anything changes", async () => {
        const error = await apply(client, wide).catch((e: unknown) => e);
        expect((error as Error).message).toContain("(element 1 = 70000 is out of range for the halfvec index (at most 65504))");
        expect(await columnType(client, "goal_assessments", "goal_vector")).toBe("jsonb");
    });

    it("stores vector(3072), indexes halfvec(3072) with hnsw, and match_goals orders through that index", async () => {
        await client.query("delete from goal_assessments where goal_text = 'too big for halfvec'");
        await apply(client, wide);

        expect(await columnType(client, "goal_assessments", "goal_vector")).toBe("vector(3072)");
        const { rows: indexes } = await client.query(
            "select indexdef from pg_indexes where indexname = 'idx_goal_assessments_goal_vector'",
        );
        expect(indexes[0].indexdef).toBe(
            "CREATE INDEX idx_goal_assessments_goal_vector ON public.goal_assessments USING hnsw (((goal_vector)::halfvec(3072)) halfvec_cosine_ops)",
        );
        const best = await client.query("select goal_text from match_goals($1, 1)", [embedding(1)]);
        expect(best.rows).toEqual([{ goal_text: "one" }]);
        await client.query("set enable_seqscan = off");
        const plan = await client.query(
            "explain select id from goal_assessments g order by g.goal_vector::halfvec(3072) <=> $1::vector::halfvec(3072) limit 1",
            [embedding(1)],
        );
        await client.query("reset enable_seqscan");
        expect(plan.rows.map((row) => row["QUERY PLAN"]).join("\n")).toContain("Index Scan using idx_goal_assessments_goal_vector");
        const body = await client.query("select prosrc from pg_proc where proname = 'embedding_search'");
        expect(body.rows[0].prosrc).toContain("order by t.%2$I::halfvec(3072) <=> $1::halfvec(3072)");
        await grantStackPrivileges(client, wide);
        expect((await verifySchema(client, await expectationsFor(wide, program(wide)))).problems).toEqual([]);
    });
});

describe.each([
    { bound: "1", spills: true },
    { bound: undefined, spills: false },
])("the CLI switching 4,000 goals with --maintenance-work-mem $bound", ({ bound, spills }) => {
    let server: PgliteServer;
    let url: string;

    beforeAll(async () => {
        const started = await start();
        server = started.server;
        url = urlOf(server);
        await apply(started.client, jsonb);
        await started.client.query("insert into users (id, email) values ($1, 'ada@example.com')", [USER]);
        await started.client.query(
            `insert into goal_assessments (user_id, agent_name, goal_text, goal_vector)
             select $1, 'a', 'g' || n, jsonb_build_array(n, n % 7, 1) from generate_series(1, 4000) n`,
            [USER],
        );
        // PGlite keeps one server session for every connection: this is the server's setting the CLI finds.
        await started.client.query("set maintenance_work_mem = '1MB'");
        await started.client.end();
    }, 120_000);

    afterAll(async () => {
        await server?.stop();
    });

    it(
        spills
            ? "passes on pgvector's notice that the graph no longer fits, and says how to avoid it"
            : "sizes maintenance_work_mem for the build, so the graph fits",
        async () => {
            const memory = bound === undefined ? [] : ["--maintenance-work-mem", bound];
            const result = await cli([
                "apply",
                "--url",
                url,
                "--vector",
                "--dimensions",
                "3",
                ...memory,
                "--app-role",
                jsonb.appRole,
                "--admin-role",
                jsonb.adminRole,
            ]);

            expect(result.code, result.stderr).toBe(0);
            expect(result.stderr).toContain("0015_vector_expand.sql backfill_goals: 4,000/4,000 rows");
            expect(result.stderr).toContain("0015_vector_expand.sql backfill_goals (step 3/6, batched): done in");
            expect(result.stdout).toContain("applied 3 migrations");
            const needs = /idx_goal_assessments_goal_vector needs about (\d+) MB to build in memory \(4,000 rows × \d+ bytes\)/;
            expect(result.stderr).toMatch(needs);
            if (spills) {
                expect(result.stderr).toContain("maintenance_work_mem is 1 MB, the bound: the build spills to disk and is slower");
                expect(result.stderr).toMatch(
                    /notice from the server: hnsw graph no longer fits into maintenance_work_mem after \d+ tuples/,
                );
            } else {
                const needed = needs.exec(result.stderr)![1];
                expect(result.stderr).toContain(`maintenance_work_mem ${needed} MB for the build (bound 1024 MB)`);
                expect(result.stderr).not.toContain("no longer fits");
            }
        },
    );
});
