// match_goals and match_beliefs in the vector variant (sql/0017_similarity_vector.sql), on PGlite with
// pgvector 0.8: the same answers as the jsonb variant's exact mode, the promised number of rows under a
// selective filter, a zero-norm embedding skipped, the per-call candidates, halfvec above 2,000
// dimensions, and a release-2 vector stack upgraded in place. PGlite serves one session at a time.
import { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { embeddingText, topicEmbeddings } from "../../bench/support/embeddings";
import { applyMigrations, DEFAULT_OPTIONS, migrationsFor } from "../support/apply-sql";
import { startPgliteServer, type PgliteServer } from "../support/pglite-server";
import { applyAsBeforeRetirement } from "../support/retired-migration";
import { schemaDatabase, type SchemaDatabase } from "../support/schema-db";

const DIMS = 32;
const USERS = ["00000000-0000-4000-8000-0000000000a1", "00000000-0000-4000-8000-0000000000b2", "00000000-0000-4000-8000-0000000000c3"];
const goalId = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, "0")}`;
/** One user owns one row in 20 (the selective filter), the other two the rest in turn. */
const owner = (n: number) => (n % 20 === 0 ? USERS[2] : USERS[n % 2]);
const options = { ...DEFAULT_OPTIONS, rls: false, vectorDimensions: DIMS };

/** Inserts the rows; `type` is the embedding column's (jsonb, or vector once switched). */
async function seed(c: Client, vectors: Float64Array[], type: "jsonb" | "vector"): Promise<void> {
    await c.query(`insert into users (id, email) select id, id || '@example.com' from unnest($1::uuid[]) id`, [USERS]);
    for (let start = 0; start < vectors.length; start += 250) {
        const rows = vectors.slice(start, start + 250).map((v, i) => `["${goalId(start + i)}","${owner(start + i)}",${embeddingText(v)}]`);
        await c.query(
            `insert into goal_assessments (id, user_id, agent_name, goal_text, goal_vector)
             select (r ->> 0)::uuid, (r ->> 1)::uuid, 'a', 'goal', (r ->> 2)::${type} from jsonb_array_elements($1::jsonb) r`,
            [`[${rows.join(",")}]`],
        );
    }
    // Norm zero: no cosine, in either variant.
    await c.query(`insert into goal_assessments (id, user_id, agent_name, goal_text, goal_vector) values ($1, $2, 'a', 'zero', $3)`, [
        goalId(99_999),
        USERS[2],
        JSON.stringify(Array(vectors[0].length).fill(0)),
    ]);
}

type Found = { id: string; similarity: number }[];
const ids = (rows: Found) => rows.map((row) => row.id);

describe("the vector variant answers as the jsonb variant's exact mode", () => {
    const data = topicEmbeddings({ count: 2000, queries: 6, dimensions: DIMS, topics: 12, seed: 3 });
    let server: PgliteServer;
    let lite: Client;
    let pg: SchemaDatabase;

    beforeAll(async () => {
        pg = await schemaDatabase("similarity_vector", options);
        await seed(pg.client, data.vectors, "jsonb");
        server = await startPgliteServer();
        lite = new Client(server);
        await lite.connect();
        await applyMigrations(lite, migrationsFor({ ...options, vector: true }));
        await seed(lite, data.vectors, "vector");
        await lite.query("analyze goal_assessments");
    }, 120_000);
    afterAll(async () => {
        await lite?.end();
        await server?.stop();
        await pg?.drop();
    });

    const search = async (c: Client, sql: string, params: unknown[]): Promise<Found> =>
        (await c.query<{ id: string; similarity: number }>(sql, params)).rows.map(({ id, similarity }) => ({ id, similarity }));

    it.each([
        { k: 10, user: null },
        { k: 10, user: USERS[0] },
        { k: 40, user: USERS[2] },
    ])(
        "returns the same ids in the same order, top $k for user $user (exact, and through a wide enough index search)",
        async ({ k, user }) => {
            let found = 0;
            for (const query of data.queries) {
                const text = embeddingText(query);
                const exact = await search(pg.client, `select id, similarity from match_goals($1, $2, $3, exact => true)`, [text, k, user]);
                const vectorExact = await search(lite, `select id, similarity from match_goals($1, $2, $3, exact => true)`, [
                    text,
                    k,
                    user,
                ]);
                const wide = await search(lite, `select id, similarity from match_goals($1, $2, $3, candidates => 400)`, [text, k, user]);
                const byDefault = await search(lite, `select id, similarity from match_goals($1, $2, $3)`, [text, k, user]);
                expect(ids(vectorExact)).toEqual(ids(exact));
                expect(ids(wide)).toEqual(ids(exact));
                wide.forEach((row, i) => expect(Math.abs(row.similarity - exact[i].similarity)).toBeLessThan(1e-6));
                found += byDefault.filter((row) => ids(exact).includes(row.id)).length;
            }
            // pgvector's default ef_search (40) is an approximate search: most, not all, of the true top k.
            expect(found / (k * data.queries.length)).toBeGreaterThanOrEqual(0.8);
        },
    );

    it("skips the zero-norm embedding in both variants, with no NaN", async () => {
        const text = embeddingText(data.queries[0]);
        for (const [c, sql] of [
            [pg.client, "select id, similarity from match_goals($1, 1000, $2, exact => true)"],
            [lite, "select id, similarity from match_goals($1, 1000, $2)"],
            [lite, "select id, similarity from match_goals($1, 1000, $2, exact => true)"],
        ] as const) {
            const rows = await search(c, sql, [text, USERS[2]]);
            expect(rows).toHaveLength(100); // ids 0, 20, …, 1980; not the zero one
            expect(rows.every((row) => Number.isFinite(row.similarity))).toBe(true);
        }
    });

    it("fills match_count through the ANN index under a filter that keeps one row in 20", async () => {
        const text = embeddingText(data.queries[1]);
        await lite.query("begin");
        try {
            // Leave the planner nothing but the ANN index, as on a large table.
            await lite.query("drop index idx_goal_assessments_user_id");
            await lite.query("set local enable_seqscan = off");
            const plan = await lite.query(
                `explain select id from goal_assessments where user_id = $1 and goal_vector is not null order by goal_vector <=> $2 limit 10`,
                [USERS[2], text],
            );
            expect(plan.rows.map((row) => row["QUERY PLAN"]).join("\n")).toMatch(/Index Scan using idx_goal_assessments_goal_vector/);
            // Without an iterative scan the index hands over ef_search rows and the filter keeps few of them.
            const plain = await lite.query(
                `select id from goal_assessments where user_id = $1 and goal_vector is not null order by goal_vector <=> $2 limit 10`,
                [USERS[2], text],
            );
            expect(plain.rows.length).toBeLessThan(10);

            const found = await search(lite, `select id, similarity from match_goals($1, 10, $2)`, [text, USERS[2]]);
            const exact = await search(pg.client, `select id, similarity from match_goals($1, 10, $2, exact => true)`, [text, USERS[2]]);
            expect(ids(found)).toEqual(ids(exact));
        } finally {
            await lite.query("rollback");
        }
    });

    it("keeps to the ANN index when a large ef_search makes pgvector's estimate exceed reading the table", async () => {
        const scans = async () => {
            await lite.query("select pg_stat_force_next_flush()");
            return Number(
                (await lite.query(`select idx_scan from pg_stat_user_indexes where indexrelname = 'idx_goal_assessments_goal_vector'`))
                    .rows[0].idx_scan,
            );
        };
        const text = embeddingText(data.queries[3]);
        await lite.query("begin");
        try {
            await lite.query("set local hnsw.ef_search = 400");
            const plan = await lite.query(`explain select id from goal_assessments order by goal_vector <=> $1 limit 10`, [text]);
            expect(plan.rows.map((row) => row["QUERY PLAN"]).join("\n")).not.toMatch(/Index Scan using idx_goal_assessments_goal_vector/);
        } finally {
            await lite.query("rollback");
        }
        const before = await scans();
        expect(await search(lite, `select id, similarity from match_goals($1, 10, null, 400)`, [text])).toHaveLength(10);
        expect(await scans()).toBe(before + 1);
    });

    it("sets hnsw.ef_search for the call only, and refuses fewer than one candidate", async () => {
        await lite.query("set hnsw.ef_search = 40");
        await lite.query("begin");
        try {
            await lite.query(`select * from match_goals($1, 10, null, 300)`, [embeddingText(data.queries[2])]);
            expect((await lite.query("select current_setting('hnsw.ef_search') as v")).rows[0].v).toBe("40");
        } finally {
            await lite.query("rollback");
        }
        await expect(lite.query(`select * from match_goals($1, 10, null, 0)`, [embeddingText(data.queries[2])])).rejects.toThrow(
            "candidates must be 1 or more, not 0",
        );
    });

    it("matches nothing for a query of another length or of norm zero, as the jsonb variant", async () => {
        for (const c of [pg.client, lite]) {
            expect((await c.query(`select id from match_goals('[1, 2, 3]')`)).rows).toEqual([]);
            expect((await c.query(`select id from match_goals($1)`, [JSON.stringify(Array(DIMS).fill(0))])).rows).toEqual([]);
        }
    });
});

describe("above pgvector's 2,000 dimensions", () => {
    const dims = 3000;
    const data = topicEmbeddings({ count: 100, queries: 3, dimensions: dims, topics: 6, seed: 9 });
    let server: PgliteServer;
    let lite: Client;

    beforeAll(async () => {
        server = await startPgliteServer();
        lite = new Client(server);
        await lite.connect();
        const big = { ...options, vectorDimensions: dims };
        // The jsonb stack with embeddings, then the switch: vector(3000) columns, a halfvec expression index.
        await applyMigrations(lite, migrationsFor(big));
        await seed(lite, data.vectors, "jsonb");
        await applyMigrations(lite, migrationsFor({ ...big, vector: true }));
    }, 120_000);
    afterAll(async () => {
        await lite?.end();
        await server?.stop();
    });

    it("orders through the halfvec index and returns the exact answer's ids", async () => {
        const text = embeddingText(data.queries[0]);
        await lite.query("begin");
        try {
            await lite.query("set local enable_seqscan = off");
            const plan = await lite.query(
                `explain select id from goal_assessments order by goal_vector::halfvec(${dims}) <=> $1::vector::halfvec(${dims}) limit 10`,
                [text],
            );
            expect(plan.rows.map((row) => row["QUERY PLAN"]).join("\n")).toMatch(/Index Scan using idx_goal_assessments_goal_vector/);
            const found = (await lite.query(`select id from match_goals($1, 10)`, [text])).rows;
            const exact = (await lite.query(`select id from match_goals($1, 10, exact => true)`, [text])).rows;
            expect(found).toEqual(exact);
            expect(found).toHaveLength(10);
        } finally {
            await lite.query("rollback");
        }
    });
});

describe("a release-2 vector stack, upgraded", () => {
    let server: PgliteServer;
    let c: Client;
    const vector = { ...options, vector: true };

    beforeAll(async () => {
        server = await startPgliteServer();
        c = new Client(server);
        await c.connect();
        const all = migrationsFor(vector);
        // Release 2: the jsonb files, then 0010_vector converted the columns in place.
        await applyMigrations(
            c,
            migrationsFor(options).filter((m) => m.name < "0010"),
        );
        await applyAsBeforeRetirement(
            c,
            all.find((m) => m.name === "0010_vector.sql")!,
            vector,
        );
        await c.query(`insert into users (id, email) values ($1, 'a@example.com')`, [USERS[0]]);
        await c.query(
            `insert into goal_assessments (user_id, agent_name, goal_text, goal_vector) values ($1, 'a', 'one', $2), ($1, 'a', 'two', $3)`,
            [
                USERS[0],
                embeddingText(Float64Array.from({ length: DIMS }, (_, i) => i + 1)),
                embeddingText(Float64Array.from({ length: DIMS }, (_, i) => -i)),
            ],
        );
        await c.query(`create role release2_reader nologin`);
        await c.query(`revoke execute on function match_goals(vector, integer, uuid) from public`);
        await c.query(`grant execute on function match_goals(vector, integer, uuid) to release2_reader`);
        await applyMigrations(c, all);
    }, 120_000);
    afterAll(async () => {
        await c?.end();
        await server?.stop();
    });

    it("adds none of the jsonb variant's derived columns, triggers or functions", async () => {
        const { rows } = await c.query(`select
            (select count(*)::int from pg_attribute where attrelid in ('goal_assessments'::regclass, 'belief_graphs'::regclass)
                and attname ~ '_vector_(unit|signs|magnitudes)$') as columns,
            (select count(*)::int from pg_trigger where tgname ~ '_vector_derived$') as triggers,
            (select array_agg(p.oid::regprocedure::text order by p.oid::regprocedure::text) from pg_proc p
                where proname in ('match_goals', 'match_beliefs', 'embedding_search', 'embedding_derived', 'derive_embedding_columns')) as functions`);
        expect(rows[0]).toEqual({
            columns: 0,
            triggers: 0,
            functions: [
                "embedding_search(text,vector,integer,uuid,integer,boolean)",
                "match_beliefs(vector,integer,uuid,integer,boolean)",
                "match_goals(vector,integer,uuid,integer,boolean)",
            ],
        });
    });

    it("keeps three-argument calls and the grants of the old functions", async () => {
        const query = embeddingText(Float64Array.from({ length: DIMS }, (_, i) => i));
        expect((await c.query(`select goal_text from match_goals($1, 1, $2)`, [query, USERS[0]])).rows).toEqual([{ goal_text: "one" }]);
        const { rows } = await c.query(
            `select has_function_privilege('release2_reader', 'match_goals(vector, integer, uuid, integer, boolean)', 'execute') as reader,
                    exists (select from pg_proc p, aclexplode(p.proacl) a
                            where p.oid = 'match_goals(vector, integer, uuid, integer, boolean)'::regprocedure and a.grantee = 0) as public`,
        );
        expect(rows[0]).toEqual({ reader: true, public: false });
    });
});
