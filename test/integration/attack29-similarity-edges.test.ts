// attack29: the jsonb variant's match_* at the edges of double precision and with queries that are no embedding
// (sql/0018_similarity_jsonb_edges.sql). Before it, one value whose square leaves double precision (1e-200, a
// denormal, 1e200) made a row invisible to match_* and a query match nothing, and a query such as a twice-encoded
// '"[…]"' matched nothing without a word where the vector variant refuses it.
import type { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { applyMigrations, migrationsFor } from "../support/apply-sql";
import { grantStackPrivileges, schemaDatabase, type SchemaDatabase } from "../support/schema-db";

const USER = "00000000-0000-4000-8000-00000000029a";

/** Cosine in double precision, each vector first divided by its largest magnitude so that no square leaves the range. */
function cosine(a: number[], b: number[]): number {
    const scaled = (v: number[]) => {
        const largest = Math.max(...v.map(Math.abs));
        return v.map((x) => x / largest);
    };
    const [x, y] = [scaled(a), scaled(b)];
    const dot = x.reduce((sum, xi, i) => sum + xi * y[i], 0);
    return dot / Math.sqrt(x.reduce((s, xi) => s + xi * xi, 0) * y.reduce((s, yi) => s + yi * yi, 0));
}

// Written as JSON text: JSON.stringify would print 1e-320 as 1e-320 too, but the literals stay readable here.
const EDGES: Record<string, string> = {
    "one tiny value": "[1, 1e-200, 0.5, 0]",
    "a denormal": "[1e-320, 1, 0, -0.25]",
    "huge values": "[1e200, -1e200, 3e199, 0]",
    "all tiny": "[1e-170, 2e-170, 0, 1e-171]",
    "denormals only": "[5e-324, 0, -5e-324, 1e-323]",
};
const numbers = (text: string) => (JSON.parse(text) as number[]).map(Number);

const insertGoal = (c: Client, text: string, embedding: string) =>
    c.query(`insert into goal_assessments (user_id, agent_name, goal_text, goal_vector) values ($1, 'a', $2, $3)`, [USER, text, embedding]);

describe("0018 on a jsonb stack: embeddings at the edges of double precision, queries that are none, writers in replica sessions", () => {
    let schema: SchemaDatabase;
    let c: Client;

    beforeAll(async () => {
        schema = await schemaDatabase("a29_edges", { rls: false });
        c = schema.client;
        await c.query(`insert into users (id, email) values ($1, 'a@example.com')`, [USER]);
        for (const [text, embedding] of Object.entries(EDGES)) await insertGoal(c, text, embedding);
        for (let i = 0; i < 20; i++) await insertGoal(c, `plain ${i}`, JSON.stringify([Math.sin(i), Math.cos(i), Math.sin(2 * i), 0.1]));
    });
    afterAll(async () => schema?.drop());

    it.each([false, true])("finds each as its own best match, and ranks all rows as the cosine does (exact => %s)", async (exact) => {
        for (const [text, embedding] of Object.entries(EDGES)) {
            const { rows } = await c.query<{ goal_text: string; similarity: number }>(
                "select goal_text, similarity from match_goals($1, 100, null, null, $2)",
                [embedding, exact],
            );
            const { rows: all } = await c.query<{ goal_text: string; goal_vector: string }>(
                "select goal_text, goal_vector::text from goal_assessments",
            );
            const expected = all
                .map((row) => ({ text: row.goal_text, similarity: cosine(numbers(row.goal_vector), numbers(embedding)) }))
                .sort((a, b) => b.similarity - a.similarity);

            expect(rows, `query ${text}`).toHaveLength(all.length);
            expect(rows.find((row) => row.goal_text === text)?.similarity, `${text} against itself`).toBeCloseTo(1, 6);
            rows.forEach((row, i) => expect(Math.abs(row.similarity - expected[i].similarity), `${text}, rank ${i}`).toBeLessThan(1e-6));
        }
    });

    it("finds a belief whose embedding holds a denormal", async () => {
        await c.query(
            `insert into belief_graphs (user_id, agent_name, subject, predicate, object, belief_vector) values ($1, 'a', 's', 'p', 'o', $2)`,
            [USER, EDGES["a denormal"]],
        );
        const { rows } = await c.query("select subject, similarity from match_beliefs('[0, 1, 0, 0]', 5)");
        expect(rows).toHaveLength(1);
        expect(rows[0].similarity).toBeCloseTo(1 / Math.hypot(1, 0.25), 6);
    });

    it.each([
        ["a twice-encoded string", '"[1, 2, 3, 4]"', "a json string"],
        ["an object", '{"embedding": [1, 2, 3, 4]}', "a json object"],
        ["json null", "null", "a json null"],
        ["an empty array", "[]", "empty"],
        ["a string element", '[1, "2", 3, 4]', "string"],
        ["a nested array", "[[1, 2], [3, 4]]", "nested"],
        ["a null element", "[1, null, 3, 4]", "null"],
        ["a boolean", "[1, true, 3, 4]", "no number"],
        ["a value beyond double precision", "[1e400, 1, 0, 0]", "range"],
    ])("refuses %s as the query, naming what it is", async (_, query, what) => {
        for (const call of ["match_goals($1, 5)", "match_goals($1, 5, exact => true)", "match_beliefs($1, 5)"]) {
            const refused = c.query(`select * from ${call}`, [query]);
            await expect(refused).rejects.toMatchObject({ code: "22023", message: expect.stringContaining(what) });
        }
        expect((await c.query("select 1 as alive")).rows).toEqual([{ alive: 1 }]);
    });

    it("matches nothing for a query of norm zero or none, as documented", async () => {
        expect((await c.query("select * from match_goals('[0, -0, 0, 0]', 5)")).rows).toEqual([]);
        expect((await c.query("select * from match_goals(null, 5)")).rows).toEqual([]);
    });

    it("derives what a session with session_replication_role = replica writes (logical replication's apply, a restore)", async () => {
        await insertGoal(c, "replicated, updated", "[1, 0, 0, 0]");
        await c.query("begin");
        try {
            await c.query("set local session_replication_role = replica");
            await insertGoal(c, "replicated, inserted", "[0, 0, 1, 0]");
            await c.query("update goal_assessments set goal_vector = '[0, 0, 0, 1]' where goal_text = 'replicated, updated'");
            await c.query("commit");
        } catch (error) {
            await c.query("rollback");
            throw error;
        }
        const top = async (query: string) =>
            (await c.query("select goal_text, similarity from match_goals($1, 1, exact => true)", [query])).rows;

        expect(await top("[0, 0, 1, 0]")).toEqual([{ goal_text: "replicated, inserted", similarity: 1 }]);
        expect(await top("[0, 0, 0, 1]")).toEqual([{ goal_text: "replicated, updated", similarity: 1 }]);
    });

    it("still takes rows whose embedding it cannot search, and skips them", async () => {
        for (const embedding of ['[1, "2", 3, 4]', "[[1, 2], [3, 4]]", "[1, null, 3, 4]", "[]", "[1e400, 1, 0, 0]", "[0, 0, 0, 0]"]) {
            await insertGoal(c, `unusable ${embedding}`, embedding);
        }
        const { rows } = await c.query(
            "select goal_vector_signs as signs, goal_vector_unit as unit from goal_assessments where goal_text like 'unusable%'",
        );
        expect(rows).toEqual(Array(6).fill({ signs: "", unit: null }));
        const found = await c.query(
            "select goal_text from match_goals('[1, 2, 3, 4]', 1000, exact => true) where goal_text like 'unusable%'",
        );
        expect(found.rows).toEqual([]);
    });
});

describe("memory_stack.derive_only, which anyone may set", () => {
    let schema: SchemaDatabase;
    let app: Client;

    beforeAll(async () => {
        schema = await schemaDatabase("a29_derive_only");
        await grantStackPrivileges(schema.client, schema.options);
        await schema.client.query(`insert into users (id, email) values ($1, 'a@example.com')`, [USER]);
        await schema.client.query(
            `insert into goal_assessments (user_id, agent_name, goal_text, goal_vector, updated_at) values ($1, 'a', 'mine', '[1, 2]', '2024-01-01')`,
            [USER],
        );
        await schema.client.query(`alter role "${schema.options.appRole}" login password 'attack29'`);
        app = await schema.db.connect({ user: schema.options.appRole, password: "attack29" });
    });
    afterAll(async () => schema?.drop());

    it("keeps updated_at for a re-derivation only, not for the application's own update", async () => {
        const updatedAt = async () =>
            (await schema.client.query("select updated_at::text as at from goal_assessments")).rows[0].at as string;
        await app.query("begin");
        await app.query("select memory_stack.bind_user($1)", [USER]);
        await app.query("set local memory_stack.derive_only = on");
        await app.query("update goal_assessments set goal_vector_signs = null");
        await app.query("commit");
        const rederived = await updatedAt();
        await app.query("begin");
        await app.query("select memory_stack.bind_user($1)", [USER]);
        await app.query("set local memory_stack.derive_only = on");
        await app.query("update goal_assessments set goal_text = 'changed', goal_vector = '[2, 1]'");
        await app.query("commit");

        expect(rederived).toBe("2024-01-01 00:00:00+00");
        expect(await updatedAt()).not.toBe("2024-01-01 00:00:00+00");
    });
});

describe("upgrading a stack whose rows 0013's derivation gave up on", () => {
    let schema: SchemaDatabase;

    beforeAll(async () => {
        schema = await schemaDatabase("a29_edges_upgrade", { rls: false }, false);
        const all = migrationsFor(schema.options);
        await applyMigrations(
            schema.client,
            all.filter((m) => m.name < "0018"),
        );
        await schema.client.query(`insert into users (id, email) values ($1, 'a@example.com')`, [USER]);
        await schema.client.query(
            `insert into goal_assessments (user_id, agent_name, goal_text, goal_vector, updated_at)
             values ($1, 'a', 'tiny', $2, '2024-01-01'), ($1, 'a', 'string', '[1, "2", 3, 4]', '2024-01-01')`,
            [USER, EDGES["one tiny value"]],
        );
        await applyMigrations(schema.client, all);
    });
    afterAll(async () => schema?.drop());

    it("derives them again, keeping updated_at: the tiny value's row is found, the string's still skipped", async () => {
        const { rows } = await schema.client.query(
            "select goal_text, goal_vector_signs as signs, updated_at = '2024-01-01' as kept from goal_assessments order by goal_text",
        );
        expect(rows).toEqual([
            { goal_text: "string", signs: "", kept: true },
            { goal_text: "tiny", signs: "1010", kept: true },
        ]);
        const found = await schema.client.query("select goal_text from match_goals($1, 5)", [EDGES["one tiny value"]]);
        expect(found.rows).toEqual([{ goal_text: "tiny" }]);
    });
});
