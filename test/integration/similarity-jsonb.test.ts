// match_goals and match_beliefs in the jsonb variant (sql/0014_similarity_jsonb_fast.sql): the exact
// mode is the cosine computed here by brute force, the fast mode finds what the exact mode finds,
// calls written for the old three-argument functions still work, and the upgrade keeps their grants.
import type { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { embeddingText, exactTopK, recall, topicEmbeddings } from "../../bench/support/embeddings";
import { applyMigrations, migrationsFor } from "../support/apply-sql";
import { dropRoles } from "../support/database";
import { schemaDatabase, type SchemaDatabase } from "../support/schema-db";

const USERS = ["00000000-0000-4000-8000-0000000000a1", "00000000-0000-4000-8000-0000000000b2", "00000000-0000-4000-8000-0000000000c3"];
const goalId = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, "0")}`;

/** Inserts the embeddings as goals goalId(0..), owned by USERS in turn (the last user gets only every 50th). */
async function seedGoals(c: Client, vectors: Float64Array[]): Promise<void> {
    for (let start = 0; start < vectors.length; start += 250) {
        const rows = vectors.slice(start, start + 250).map((vector, offset) => {
            const n = start + offset;
            const user = n % 50 === 0 ? USERS[2] : USERS[n % 2];
            return `["${goalId(n)}","${user}",${embeddingText(vector)}]`;
        });
        await c.query(
            `insert into goal_assessments (id, user_id, agent_name, goal_text, goal_vector)
             select (r ->> 0)::uuid, (r ->> 1)::uuid, 'a', 'goal', r -> 2 from jsonb_array_elements($1::jsonb) r`,
            [`[${rows.join(",")}]`],
        );
    }
}

function cosine(a: Float64Array, b: Float64Array): number {
    let dot = 0;
    let aa = 0;
    let bb = 0;
    for (let i = 0; i < a.length; i++) {
        dot += a[i] * b[i];
        aa += a[i] * a[i];
        bb += b[i] * b[i];
    }
    return dot / Math.sqrt(aa * bb);
}

describe("match_goals and match_beliefs, jsonb variant", () => {
    let schema: SchemaDatabase;
    let c: Client;
    const data = topicEmbeddings({ count: 400, queries: 4, dimensions: 48, topics: 8, seed: 11 });
    const owner = (n: number) => (n % 50 === 0 ? USERS[2] : USERS[n % 2]);

    beforeAll(async () => {
        schema = await schemaDatabase("similarity_jsonb", { rls: false });
        c = schema.client;
        await c.query(`insert into users (id, email) select id, id || '@example.com' from unnest($1::uuid[]) id`, [USERS]);
        await seedGoals(c, data.vectors);
        // Rows every mode must skip.
        await c.query(
            `insert into goal_assessments (user_id, agent_name, goal_text, goal_vector) values
             ($1, 'a', 'no embedding', null), ($1, 'a', 'short', '[1, 2]'), ($1, 'a', 'zero', $2), ($1, 'a', 'text', $3)`,
            [USERS[0], JSON.stringify(Array(48).fill(0)), JSON.stringify(Array(48).fill("1"))],
        );
    });
    afterAll(async () => schema?.drop());

    const search = async (sql: string, params: unknown[]) =>
        (await c.query<{ id: string; similarity: number }>(sql, params)).rows.map((row) => ({ id: row.id, similarity: row.similarity }));

    it.each([
        { k: 10, user: null },
        { k: 25, user: USERS[1] },
        { k: 10, user: USERS[2] },
    ])("exact => true returns the brute-force cosine top $k (user $user), best first", async ({ k, user }) => {
        for (const query of data.queries) {
            const expected = data.vectors
                .map((vector, n) => ({ id: goalId(n), n, similarity: cosine(vector, query) }))
                .filter(({ n }) => user === null || owner(n) === user)
                .sort((a, b) => b.similarity - a.similarity || a.id.localeCompare(b.id))
                .slice(0, k);
            const found = await search(`select id, similarity from match_goals($1, $2, $3, exact => true)`, [
                embeddingText(query),
                k,
                user,
            ]);
            expect(found.map((row) => row.id)).toEqual(expected.map((row) => row.id));
            found.forEach((row, i) => expect(Math.abs(row.similarity - expected[i].similarity)).toBeLessThan(1e-6));
        }
    });

    it("the default call finds what the exact mode finds, and reports the same similarity", async () => {
        for (const query of data.queries) {
            const exact = await search(`select id, similarity from match_goals($1, 10, exact => true)`, [embeddingText(query)]);
            expect(await search(`select id, similarity from match_goals($1)`, [embeddingText(query)])).toEqual(exact);
        }
    });

    it("answers calls written for the old three-argument functions, positional or named", async () => {
        const query = embeddingText(data.queries[0]);
        const exact = await search(`select id, similarity from match_goals($1, 5, $2, exact => true)`, [query, USERS[0]]);
        expect(await search(`select id, similarity from match_goals($1, 5, $2)`, [query, USERS[0]])).toEqual(exact);
        expect(
            await search(`select id, similarity from match_goals(query_embedding => $1, match_count => 5, filter_user_id => $2)`, [
                query,
                USERS[0],
            ]),
        ).toEqual(exact);
        const { rows } = await c.query(
            `select proname, count(*)::int as n from pg_proc where proname in ('match_goals', 'match_beliefs') group by 1 order by 1`,
        );
        expect(rows).toEqual([
            { proname: "match_beliefs", n: 1 },
            { proname: "match_goals", n: 1 },
        ]);
    });

    it("returns match_count rows whenever that many usable rows exist, however few candidates", async () => {
        const query = embeddingText(data.queries[1]);
        expect(await search(`select id, similarity from match_goals($1, 30, null, 1)`, [query])).toHaveLength(30);
        expect(await search(`select id, similarity from match_goals($1, 30, $2)`, [query, USERS[2]])).toHaveLength(8); // ids 0, 50, …, 350
        expect(await search(`select id, similarity from match_goals($1, 1000)`, [query])).toHaveLength(400);
    });

    it("skips null, zero and non-numeric embeddings and those of another length than the query; a query of norm zero matches nothing, a non-numeric one is refused", async () => {
        const all = await search(`select id, similarity from match_goals($1, 1000, exact => true)`, [embeddingText(data.queries[0])]);
        expect(all).toHaveLength(400);
        expect(all.every((row) => Number.isFinite(row.similarity))).toBe(true);
        expect(await search(`select id, similarity from match_goals('[1, 2, 3]', 10)`, [])).toEqual([]);
        const { rows: short } = await c.query(`select goal_text from match_goals('[2, 4]', 10)`);
        expect(short).toEqual([{ goal_text: "short" }]); // rows of the query's own length only
        expect(await search(`select id, similarity from match_goals($1, 10)`, [JSON.stringify(Array(48).fill(0))])).toEqual([]);
        await expect(search(`select id, similarity from match_goals('[1, "x"]', 10)`, [])).rejects.toThrow(
            "an embedding must be a non-empty flat json array of numbers",
        );
        expect(await search(`select id, similarity from match_goals($1, 0)`, [embeddingText(data.queries[0])])).toEqual([]);
    });

    it("refuses a negative or null match_count and fewer than one candidate, naming the argument", async () => {
        const query = embeddingText(data.queries[0]);
        await expect(c.query(`select * from match_goals($1, -1)`, [query])).rejects.toThrow("match_count must be 0 or more, not -1");
        await expect(c.query(`select * from match_goals($1, null)`, [query])).rejects.toThrow("match_count must be 0 or more, not null");
        await expect(c.query(`select * from match_goals($1, 10, null, 0)`, [query])).rejects.toThrow("candidates must be 1 or more, not 0");
    });

    it("match_beliefs searches belief_graphs the same way", async () => {
        await c.query(
            `insert into belief_graphs (user_id, agent_name, subject, predicate, object, belief_vector) values
             ($1, 'a', 'sky', 'is', 'blue', '[1, 0, 0]'), ($1, 'a', 'grass', 'is', 'green', '[0, 1, 0]'), ($2, 'a', 'sea', 'is', 'blue', '[1, 0.2, 0]')`,
            [USERS[0], USERS[1]],
        );
        const { rows } = await c.query(`select subject, round(similarity::numeric, 6) as similarity from match_beliefs('[1, 0.1, 0]', 2)`);
        expect(rows).toEqual([
            { subject: "sea", similarity: "0.995229" },
            { subject: "sky", similarity: "0.995037" },
        ]);
        const { rows: own } = await c.query(`select subject from match_beliefs('[1, 0.1, 0]', 5, $1, exact => true)`, [USERS[0]]);
        expect(own.map((row) => row.subject)).toEqual(["sky", "grass"]);
    });
});

describe("match_goals' fast mode on topic data", () => {
    let schema: SchemaDatabase;
    // Enough rows that the default's shortlist (1,000) is a fifth of them and a tight one a fiftieth.
    const data = topicEmbeddings({ count: 5000, queries: 12, dimensions: 384, topics: 50, seed: 5 });
    const truth = data.queries.map((query) => exactTopK(data.vectors, query, 10).map(goalId));

    beforeAll(async () => {
        schema = await schemaDatabase("similarity_recall", { rls: false });
        await schema.client.query(`insert into users (id, email) select id, id || '@example.com' from unnest($1::uuid[]) id`, [USERS]);
        await seedGoals(schema.client, data.vectors);
        await schema.client.query("analyze goal_assessments");
    });
    afterAll(async () => schema?.drop());

    const meanRecall = async (sql: string, candidates: number) => {
        let sum = 0;
        for (const [i, query] of data.queries.entries()) {
            const { rows } = await schema.client.query<{ id: string }>(sql, [embeddingText(query), candidates]);
            sum += recall(
                rows.map((row) => row.id),
                truth[i],
            );
        }
        return sum / data.queries.length;
    };
    const fast = "select id from match_goals($1, 10, null, $2)";
    // The same number of exact re-ranks, picked by Hamming distance alone.
    const signsOnly = `
        with q as materialized (select d.unit, d.signs from embedding_derived($1) d)
        select s.id from (
            select g.id, g.goal_vector_unit as unit from goal_assessments g, q
            where bit_length(g.goal_vector_signs) = 384
            order by bit_count(g.goal_vector_signs # q.signs) limit $2
        ) s, q
        order by (select sum(a::double precision * b) from unnest(s.unit, q.unit) p (a, b)) desc
        limit 10`;

    it("finds at least 95% of the true top 10 with the default candidates", async () => {
        expect(await meanRecall("select id from match_goals($1, 10) where $2 = 100", 100)).toBeGreaterThanOrEqual(0.95);
    });

    it("re-ranks better candidates than the sign bits alone pick, from a shortlist of a fiftieth of the rows", async () => {
        const [tight, alone] = [await meanRecall(fast, 20), await meanRecall(signsOnly, 20)];
        expect(tight).toBeGreaterThanOrEqual(0.9);
        expect(tight).toBeGreaterThan(alone + 0.1);
    });
});

describe("upgrading a jsonb stack to the fast match_*", () => {
    let schema: SchemaDatabase;
    const ROLE = `similarity_grants_${process.pid}`;

    beforeAll(async () => {
        schema = await schemaDatabase("similarity_upgrade", { rls: false }, false);
        const all = migrationsFor(schema.options);
        await applyMigrations(
            schema.client,
            all.filter((m) => m.name < "0013"),
        );
        await schema.client.query(`create role "${ROLE}" nologin`);
        await schema.client.query(`revoke execute on function match_goals(jsonb, integer, uuid) from public`);
        await schema.client.query(`grant execute on function match_goals(jsonb, integer, uuid) to "${ROLE}"`);
        await applyMigrations(schema.client, all);
    });
    afterAll(async () => {
        await schema?.drop();
        if (schema) await dropRoles(schema.db.server, [ROLE]);
    });

    it("gives the new functions the grants the old ones had", async () => {
        const { rows } = await schema.client.query(
            `select has_function_privilege($1, 'match_goals(jsonb, integer, uuid, integer, boolean)', 'execute') as role,
                    exists (select from pg_proc p, aclexplode(p.proacl) a
                            where p.oid = 'match_goals(jsonb, integer, uuid, integer, boolean)'::regprocedure and a.grantee = 0) as public,
                    has_function_privilege($1, 'match_beliefs(jsonb, integer, uuid, integer, boolean)', 'execute') as beliefs`,
            [ROLE],
        );
        expect(rows[0]).toEqual({ role: true, public: false, beliefs: true });
    });
});
