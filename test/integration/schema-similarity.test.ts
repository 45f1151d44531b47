import { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { applyMigrations, DEFAULT_OPTIONS, migrationsFor } from "../support/apply-sql";
import { startPgliteServer, type PgliteServer } from "../support/pglite-server";
import { schemaDatabase, type SchemaDatabase } from "../support/schema-db";

const DIMS = 8;
const USER_A = "aaaaaaaa-0000-4000-8000-000000000001";
const USER_B = "bbbbbbbb-0000-4000-8000-000000000002";

// Deterministic embeddings (a small LCG), so both databases get the same data and every run the same.
function embeddings(count: number, seed: number): number[][] {
    let state = seed;
    const next = () => ((state = (state * 1103515245 + 12345) % 2147483648) / 2147483648) * 2 - 1;
    return Array.from({ length: count }, () => Array.from({ length: DIMS }, () => Math.round(next() * 1000) / 1000));
}
const cosine = (x: number[], y: number[]) => {
    const dot = x.reduce((sum, v, i) => sum + v * y[i], 0);
    return dot / (Math.hypot(...x) * Math.hypot(...y));
};
const goals = embeddings(24, 7).map((v, i) => ({
    id: `00000000-0000-4000-8000-${String(i).padStart(12, "0")}`,
    user: i % 3 ? USER_A : USER_B,
    v,
}));
const beliefs = embeddings(24, 99).map((v, i) => ({
    id: `10000000-0000-4000-8000-${String(i).padStart(12, "0")}`,
    user: i % 2 ? USER_A : USER_B,
    v,
}));
const QUERY = embeddings(1, 12345)[0];
const literal = (v: number[]) => `[${v.join(",")}]`;

async function seed(c: Client): Promise<void> {
    await c.query(`insert into users (id, email) values ($1, 'a@example.com'), ($2, 'b@example.com')`, [USER_A, USER_B]);
    for (const g of goals) {
        await c.query(`insert into goal_assessments (id, user_id, agent_name, goal_text, goal_vector) values ($1, $2, 'a', $3, $4)`, [
            g.id,
            g.user,
            `goal ${g.id.slice(-2)}`,
            literal(g.v),
        ]);
    }
    for (const b of beliefs) {
        await c.query(
            `insert into belief_graphs (id, user_id, agent_name, subject, predicate, object, belief_text, belief_vector) values ($1, $2, 'a', 's', 'p', 'o', $3, $4)`,
            [b.id, b.user, `belief ${b.id.slice(-2)}`, literal(b.v)],
        );
    }
}

/** What the application does in either variant: the embedding as a text literal, nothing variant-specific. */
async function topK(c: Client, fn: "match_goals" | "match_beliefs", k: number, user: string | null) {
    const { rows } = await c.query(`select id, user_id, similarity from ${fn}($1, $2, $3)`, [literal(QUERY), k, user]);
    return rows as { id: string; user_id: string; similarity: number }[];
}

function expectedTopK(rows: { id: string; user: string; v: number[] }[], k: number, user: string | null) {
    return rows
        .filter((r) => !user || r.user === user)
        .map((r) => ({ id: r.id, similarity: cosine(QUERY, r.v) }))
        .sort((x, y) => y.similarity - x.similarity)
        .slice(0, k);
}

const CASES = [
    { fn: "match_goals" as const, rows: goals, k: 5, user: null },
    { fn: "match_goals" as const, rows: goals, k: 4, user: USER_A },
    { fn: "match_beliefs" as const, rows: beliefs, k: 6, user: null },
    { fn: "match_beliefs" as const, rows: beliefs, k: 3, user: USER_B },
];

describe("match_goals and match_beliefs in both variants", () => {
    let pg: SchemaDatabase;
    let server: PgliteServer;
    let lite: Client;
    const options = { ...DEFAULT_OPTIONS, vectorDimensions: DIMS, rls: false };

    beforeAll(async () => {
        pg = await schemaDatabase("schema_similarity", options);
        await seed(pg.client);
        server = await startPgliteServer();
        lite = new Client(server);
        await lite.connect();
        // A live jsonb stack with data, then switched to vector by adding only the vector files.
        const jsonb = migrationsFor(options);
        await applyMigrations(lite, jsonb);
        await seed(lite);
        const vector = migrationsFor({ ...options, vector: true });
        const added = vector.filter((m) => !jsonb.some((j) => j.name === m.name && j.checksum === m.checksum));
        expect(added.map((m) => m.name)).toEqual([
            "0010_vector.sql",
            "0015_vector_expand.sql",
            "0016_vector_contract.sql",
            "0017_similarity_vector.sql",
        ]);
        await applyMigrations(lite, vector, { ...options, vector: true }); // 0010 is retired: the engine skips it
    });
    afterAll(async () => {
        await lite?.end();
        await server?.stop();
        await pg?.drop();
    });

    it("switching to vector keeps every row and every embedding", async () => {
        const { rows } =
            await lite.query(`select id, goal_vector::text as v, format_type(atttypid, atttypmod) as type from goal_assessments,
            pg_attribute where attrelid = 'goal_assessments'::regclass and attname = 'goal_vector' order by id`);
        expect(rows.map((r) => r.id)).toEqual(goals.map((g) => g.id));
        expect(rows[0].type).toBe(`vector(${DIMS})`);
        rows.forEach((r, i) => (JSON.parse(r.v) as number[]).forEach((x, j) => expect(x).toBeCloseTo(goals[i].v[j], 6)));
        expect((await lite.query(`select count(*)::int as n from belief_graphs where belief_vector is not null`)).rows[0].n).toBe(
            beliefs.length,
        );
    });

    it.each(CASES)(
        "$fn(k=$k, user=$user) returns the same top-k, best first, with the cosine similarity, in both variants",
        async ({ fn, rows, k, user }) => {
            const expected = expectedTopK(rows, k, user);
            const fromJsonb = await topK(pg.client, fn, k, user);
            const fromVector = await topK(lite, fn, k, user);
            expect(fromJsonb.map((r) => r.id)).toEqual(expected.map((r) => r.id));
            expect(fromVector.map((r) => r.id)).toEqual(expected.map((r) => r.id));
            expected.forEach((e, i) => {
                expect(fromJsonb[i].similarity).toBeCloseTo(e.similarity, 6); // the unit-length copy is real (float4)
                expect(fromVector[i].similarity).toBeCloseTo(e.similarity, 5); // vector stores float4
            });
        },
    );

    it("returns the same result columns in both variants", async () => {
        const columns = async (c: Client, fn: string) =>
            (
                await c.query(
                    `
            select string_agg(name || ' ' || type, ', ' order by ord) as cols from (
                select unnest(proargnames) as name, format_type(unnest(proallargtypes), null) as type,
                       generate_subscripts(proargnames, 1) as ord, unnest(proargmodes) as mode
                from pg_proc where proname = $1) a where mode = 't'`,
                    [fn],
                )
            ).rows[0].cols;
        for (const fn of ["match_goals", "match_beliefs"]) expect(await columns(lite, fn)).toBe(await columns(pg.client, fn));
        expect(await columns(pg.client, "match_goals")).toBe(
            "id uuid, user_id uuid, agent_name text, goal_text text, status text, similarity double precision",
        );
    });

    it("orders through the ANN index in the vector variant", async () => {
        await lite.query("begin");
        try {
            await lite.query("set local enable_seqscan = off");
            const plan = (
                await lite.query(`explain select id from goal_assessments order by goal_vector <=> $1 limit 5`, [literal(QUERY)])
            ).rows
                .map((r) => r["QUERY PLAN"])
                .join("\n");
            expect(plan).toMatch(/idx_goal_assessments_goal_vector/);
        } finally {
            await lite.query("rollback");
        }
    });

    it("skips embeddings of another length in the jsonb variant instead of failing", async () => {
        await pg.client.query(
            `insert into goal_assessments (user_id, agent_name, goal_text, goal_vector) values ($1, 'a', 'short', '[1, 0]')`,
            [USER_A],
        );
        const rows = await topK(pg.client, "match_goals", 100, null);
        expect(rows).toHaveLength(goals.length);
    });
});

describe("switching a live jsonb stack that holds wrong-length embeddings to vector", () => {
    let server: PgliteServer;
    let c: Client;
    const options = { ...DEFAULT_OPTIONS, vectorDimensions: 3, rls: false };

    beforeAll(async () => {
        server = await startPgliteServer();
        c = new Client(server);
        await c.connect();
        await applyMigrations(c, migrationsFor(options));
        await c.query(`insert into users (id, email) values ($1, 'a@example.com')`, [USER_A]);
        await c.query(
            `insert into goal_assessments (id, user_id, agent_name, goal_text, goal_vector) values
            ('00000000-0000-4000-8000-000000000001', $1, 'a', 'ok', '[1, 2, 3]'),
            ('00000000-0000-4000-8000-000000000002', $1, 'a', 'short', '[1, 2]'),
            ('00000000-0000-4000-8000-000000000003', $1, 'a', 'text', '[1, "x", 3]'),
            ('00000000-0000-4000-8000-000000000004', $1, 'a', 'none', null)`,
            [USER_A],
        );
    });
    afterAll(async () => {
        await c?.end();
        await server?.stop();
    });

    it("fails naming the table and the offending ids, and changes nothing", async () => {
        const error = await applyMigrations(c, migrationsFor({ ...options, vector: true }), { ...options, vector: true }).catch((e) => e);
        expect(error.message).toMatch(/^0015_vector_expand\.sql: cannot switch the embeddings to vector\(3\)/);
        expect(error.message).toContain(
            "public.goal_assessments.goal_vector, 2 row(s): 00000000-0000-4000-8000-000000000002 (2 elements, not 3), " +
                "00000000-0000-4000-8000-000000000003 (element 2 is a json string, not a number)",
        );
        const { rows } = await c.query(`select
            (select format_type(atttypid, atttypmod) from pg_attribute where attrelid = 'goal_assessments'::regclass and attname = 'goal_vector') as type,
            (select count(*)::int from pg_extension where extname = 'vector') as extension,
            (select count(*)::int from goal_assessments) as goals,
            (select count(*)::int from pg_proc where proname = 'match_goals') as match_goals`);
        expect(rows[0]).toEqual({ type: "jsonb", extension: 0, goals: 4, match_goals: 1 });
    });
});
