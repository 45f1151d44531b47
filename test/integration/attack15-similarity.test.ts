// attack15: match_goals against a brute-force cosine computed here, over the rows a careless application
// writes (zero vectors, other lengths, values at the edges of double precision), odd match_counts, and
// what the app role sees with claims bound to one user: jsonb variant on PostgreSQL 15, vector variant on
// PGlite (one connection: the app role is taken with `set local role`).
import { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { applyMigrations, DEFAULT_OPTIONS, migrationsFor } from "../support/apply-sql";
import { startPgliteServer, type PgliteServer } from "../support/pglite-server";
import { grantStackPrivileges, schemaDatabase, type SchemaDatabase } from "../support/schema-db";

const A = "00000000-0000-4000-8000-00000000150a";
const B = "00000000-0000-4000-8000-00000000150b";
const DIMS = 8;

function cosine(unscaledA: number[], unscaledB: number[]): number {
    // Each divided by its largest magnitude first, as the database does (0018): no square leaves double precision.
    const [a, b] = [unscaledA, unscaledB].map((v) => v.map((x) => x / Math.max(...v.map(Math.abs))));
    let dot = 0;
    let na = 0;
    let nb = 0;
    a.forEach((x, i) => {
        dot += x * b[i];
        na += x * x;
        nb += b[i] * b[i];
    });
    return dot / Math.sqrt(na * nb);
}

/** A small deterministic generator: the same rows and queries on every run. */
function generator(seed: number): () => number {
    let state = seed;
    return () => {
        state = (state * 1103515245 + 12345) % 2147483648;
        return state / 2147483648 - 0.5;
    };
}
const random = generator(15);
const vector = () => Array.from({ length: DIMS }, random);

interface Row {
    text: string;
    user: string;
    embedding: unknown;
}

/** The top `count` rows by cosine, as an exact search must return them: unusable rows skipped, ties by insertion (ids are not compared). */
function reference(rows: Row[], query: number[], count: number, user?: string): { text: string; similarity: number }[] {
    return rows
        .filter((row) => (user === undefined || row.user === user) && Array.isArray(row.embedding) && row.embedding.length === query.length)
        .map((row) => ({ text: row.text, similarity: cosine(row.embedding as number[], query) }))
        .filter((row) => Number.isFinite(row.similarity))
        .sort((x, y) => y.similarity - x.similarity)
        .slice(0, count);
}

describe("jsonb variant on PostgreSQL 15", () => {
    let schema: SchemaDatabase;
    let c: Client;
    const rows: Row[] = [];

    beforeAll(async () => {
        schema = await schemaDatabase("a15_similarity");
        c = schema.client;
        await grantStackPrivileges(c, schema.options);
        await c.query(`insert into users (id, email) values ($1, 'a@example.com'), ($2, 'b@example.com')`, [A, B]);
        for (let i = 0; i < 90; i++) rows.push({ text: `random ${i}`, user: i % 2 ? A : B, embedding: vector() });
        const odd: unknown[] = [
            Array(DIMS).fill(0), // norm zero: no cosine
            [1, 2, 3], // another length
            // Squares that underflow double precision: found by their direction, here and in the reference (0018).
            [1e-300, 1e-300, 0, 0, 0, 0, 0, 1e-300],
            [5e-324, 5e-324, 0, 0, 0, 0, 0, 5e-324],
            [1e-20, 3e-20, -2e-20, 0, 0, 0, 0, 1e-20], // tiny, but a direction
            [-0, 1, 0, 0, 0, 0, 0, 0], // negative zero
            [1, 1, 1, 1, 1, 1, 1, 1],
            [1, 1, 1, 1, 1, 1, 1, 1], // a duplicate: a tie
        ];
        odd.forEach((embedding, i) => rows.push({ text: `odd ${i}`, user: A, embedding }));
        for (const row of rows) {
            await c.query("insert into goal_assessments (user_id, agent_name, goal_text, goal_vector) values ($1, 'a', $2, $3)", [
                row.user,
                row.text,
                JSON.stringify(row.embedding),
            ]);
        }
    });
    afterAll(async () => schema?.drop());

    // Fewer rows than the default 100 candidates: every usable row reaches the exact re-rank, so the
    // default call must give the exact answer too.
    it.each([true, false])("exact => %s returns the brute-force top 20 with its similarities", async (exact) => {
        for (let k = 0; k < 6; k++) {
            const query = vector();
            const found = await c.query<{ goal_text: string; similarity: number }>(
                "select goal_text, similarity from match_goals($1, 20, null, null, $2)",
                [JSON.stringify(query), exact],
            );
            const expected = reference(rows, query, 20);

            expect(found.rows).toHaveLength(20);
            found.rows.forEach((row, i) => expect(Math.abs(row.similarity - expected[i].similarity)).toBeLessThan(1e-6));
            // Equal similarities may come in either order: compare the set of texts above the 20th score.
            expect(new Set(found.rows.map((row) => row.goal_text))).toEqual(new Set(expected.map((row) => row.text)));
        }
    });

    it("rows written by COPY and by insert … on conflict do update are found by their embeddings, old and new", async () => {
        const id = "00000000-0000-4000-8000-0000000c0001";
        const [first, second] = [
            [3, -1, 4, -1, 5, -9, 2, 6],
            [-2, 7, -1, 8, -2, 8, -1, 8],
        ];
        const top = async (query: number[]) =>
            (
                await c.query<{ id: string; similarity: number }>("select id, similarity from match_goals($1, 1, null, null, $2)", [
                    JSON.stringify(query),
                    false,
                ])
            ).rows[0];
        await c.query("begin");
        try {
            // COPY fires row triggers like an insert (the server reads the row from a program: the test runs as a superuser).
            await c.query(
                `copy goal_assessments (id, user_id, agent_name, goal_text, goal_vector) from program ` +
                    `'printf "%s\\t%s\\ta\\tcopied\\t%s\\n" ${id} ${A} "${JSON.stringify(first)}"'`,
            );
            const copied = await top(first);
            await c.query(
                `insert into goal_assessments (id, user_id, agent_name, goal_text, goal_vector) values ($1, $2, 'a', 'upserted', $3)
                 on conflict (id) do update set goal_vector = excluded.goal_vector, goal_text = excluded.goal_text`,
                [id, A, JSON.stringify(second)],
            );
            const upserted = await top(second);
            const { rows: old } = await c.query<{ similarity: number }>(
                "select similarity from match_goals($1, 1000, null, null, true) where id = $2",
                [JSON.stringify(first), id],
            );

            expect(copied).toMatchObject({ id });
            expect(copied.similarity).toBeCloseTo(1, 6);
            expect(upserted).toMatchObject({ id });
            expect(upserted.similarity).toBeCloseTo(1, 6);
            // Against the old embedding it now scores as the new one does: the derived copy followed the upsert.
            expect(old[0].similarity).toBeCloseTo(cosine(first, second), 6);
        } finally {
            await c.query("rollback");
        }
    });

    it("as the app role bound to A: only A's rows, and nothing with filter_user_id B, through every entry point", async () => {
        const query = JSON.stringify(vector());
        await c.query("begin");
        try {
            await c.query(`set local role "${schema.options.appRole}"`);
            await c.query("select memory_stack.bind_user($1)", [A]);
            const own = await c.query("select user_id from match_goals($1, 1000)", [query]);
            const ownExact = await c.query("select user_id from match_goals($1, 1000, exact => true)", [query]);
            const other = await c.query("select user_id from match_goals($1, 1000, $2)", [query, B]);
            const otherExact = await c.query("select user_id from match_goals($1, 1000, $2, null, true)", [query, B]);
            const search = await c.query(
                "select g.user_id from embedding_search('goal_assessments', $1, 1000, $2, null, false) e join goal_assessments g using (id)",
                [query, B],
            );

            expect(own.rows.length).toBe(reference(rows, JSON.parse(query) as number[], 1_000, A).length);
            expect(new Set([...own.rows, ...ownExact.rows].map((row) => row.user_id))).toEqual(new Set([A]));
            expect([other.rows, otherExact.rows, search.rows]).toEqual([[], [], []]);
        } finally {
            await c.query("rollback");
        }
    });

    it("a pooled connection: claims of B one client left at session level count for nothing for the next client", async () => {
        const query = JSON.stringify(vector());
        await c.query(`alter role "${schema.options.appRole}" login password 'attack15'`);
        const app = await schema.db.connect({ user: schema.options.appRole, password: "attack15" });
        // The first client: plain claims and a forged binding, both at session level.
        await app.query("select set_config('request.jwt.claim.sub', $1, false), set_config('request.jwt.claims', $2, false)", [
            B,
            JSON.stringify({ sub: B }),
        ]);
        await app.query(
            "select set_config('memory_stack.bound_user', pg_backend_pid() || ' ' || extract(epoch from now()) || ' ' || $1, false)",
            [B],
        );
        // The next client of the same server connection binds no one.
        const next = await app.query("select user_id from match_goals($1, 1000)", [query]);
        const nextExact = await app.query("select user_id from match_goals($1, 1000, $2, exact => true)", [query, B]);

        expect([next.rows, nextExact.rows]).toEqual([[], []]);
    });
});

describe("vector variant on PGlite", () => {
    let server: PgliteServer;
    let lite: Client;
    const options = { ...DEFAULT_OPTIONS, vector: true, vectorDimensions: DIMS };
    const rows: Row[] = [];

    beforeAll(async () => {
        server = await startPgliteServer();
        lite = new Client(server);
        await lite.connect();
        await applyMigrations(lite, migrationsFor(options), options);
        await grantStackPrivileges(lite, options);
        await lite.query(`insert into users (id, email) values ($1, 'a@example.com'), ($2, 'b@example.com')`, [A, B]);
        // B has most rows: a filter on A, or row level security for A, keeps one row in ten.
        for (let i = 0; i < 300; i++) rows.push({ text: `random ${i}`, user: i % 10 === 0 ? A : B, embedding: vector() });
        rows.push({ text: "zero", user: A, embedding: Array(DIMS).fill(0) });
        for (const row of rows) {
            await lite.query("insert into goal_assessments (user_id, agent_name, goal_text, goal_vector) values ($1, 'a', $2, $3)", [
                row.user,
                row.text,
                JSON.stringify(row.embedding),
            ]);
        }
        await lite.query("analyze goal_assessments");
    }, 120_000);
    afterAll(async () => {
        await lite?.end();
        await server?.stop();
    });

    it("as the app role bound to A: A's top rows through the index, none of B's, and nothing with filter_user_id B", async () => {
        const query = vector();
        await lite.query("begin");
        try {
            await lite.query(`set local role "${options.appRole}"`);
            await lite.query("select memory_stack.bind_user($1)", [A]);
            const own = await lite.query<{ goal_text: string; user_id: string }>("select goal_text, user_id from match_goals($1, 10)", [
                JSON.stringify(query),
            ]);
            const other = await lite.query("select user_id from match_goals($1, 10, $2)", [JSON.stringify(query), B]);
            const otherExact = await lite.query("select user_id from match_goals($1, 10, $2, exact => true)", [JSON.stringify(query), B]);

            expect(new Set(own.rows.map((row) => row.user_id))).toEqual(new Set([A]));
            expect(own.rows.map((row) => row.goal_text)).toEqual(reference(rows, query, 10, A).map((row) => row.text));
            expect([other.rows, otherExact.rows]).toEqual([[], []]);
        } finally {
            await lite.query("rollback");
        }
    });

    it("a match_count of 0 returns nothing; negative and null are refused, naming match_count", async () => {
        const query = JSON.stringify(vector());
        expect((await lite.query("select * from match_goals($1, 0)", [query])).rows).toEqual([]);
        for (const count of [-1, null]) {
            await expect(lite.query("select * from match_goals($1, $2)", [query, count])).rejects.toThrow(/match_count must be 0 or more/);
        }
    });
});
