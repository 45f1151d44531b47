// The jsonb variant's derived embedding columns (sql/0013_similarity_derived.sql): every writer
// keeps <embedding>_unit, _signs and _magnitudes true, and the next migration (0014) derives the
// rows written before them, without touching their updated_at.
import type { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { applyMigrations, migrationsFor } from "../support/apply-sql";
import { schemaDatabase, type SchemaDatabase } from "../support/schema-db";

const USER = "00000000-0000-4000-8000-0000000000a1";

/** What the trigger must have written for this embedding, computed here. */
function expectedDerived(embedding: unknown): { unit: number[] | null; signs: string | null; magnitudes: string | null } {
    if (embedding === null) return { unit: null, signs: null, magnitudes: null };
    const usable =
        Array.isArray(embedding) &&
        embedding.length > 0 &&
        embedding.every((x) => typeof x === "number" && Number.isFinite(x)) &&
        embedding.some((x) => x !== 0);
    if (!usable) return { unit: null, signs: "", magnitudes: null };
    // A value whose square leaves double precision: the database divides by the largest magnitude first (0018).
    const magnitudes = (embedding as number[]).map(Math.abs);
    const largest = Math.max(...magnitudes);
    const scaled = largest > 1e150 || magnitudes.some((x) => x > 0 && x < 1e-150);
    const numbers = (embedding as number[]).map((x) => (scaled && Math.abs(x) < largest * 1e-100 ? 0 : x));
    const norm = Math.hypot(...numbers.map((x) => x / largest)) * largest;
    const median = numbers.map(Math.abs).sort((a, b) => a - b)[Math.ceil(numbers.length / 2) - 1];
    return {
        unit: numbers.map((x) => x / norm),
        signs: numbers.map((x) => (x > 0 ? "1" : "0")).join(""),
        magnitudes: numbers.map((x) => (Math.abs(x) > median ? "1" : "0")).join(""),
    };
}

interface DerivedRow {
    id: string;
    embedding: unknown;
    unit: number[] | null;
    signs: string | null;
    magnitudes: string | null;
    updated_at: Date;
}

async function goals(c: Client, where = "true"): Promise<DerivedRow[]> {
    const { rows } = await c.query<DerivedRow>(
        `select id, goal_vector as embedding, goal_vector_unit as unit, goal_vector_signs as signs,
                goal_vector_magnitudes as magnitudes, updated_at
         from goal_assessments where ${where} order by goal_text`,
    );
    return rows;
}

function expectTrue(row: DerivedRow): void {
    const expected = expectedDerived(row.embedding);
    expect(row.signs, `signs of ${JSON.stringify(row.embedding)}`).toBe(expected.signs);
    expect(row.magnitudes, `magnitudes of ${JSON.stringify(row.embedding)}`).toBe(expected.magnitudes);
    if (expected.unit === null) {
        expect(row.unit, `unit of ${JSON.stringify(row.embedding)}`).toBeNull();
    } else {
        expect(row.unit).toHaveLength(expected.unit.length);
        // real: 24 bits of mantissa
        row.unit!.forEach((x, i) => expect(Math.abs(x - expected.unit![i])).toBeLessThan(1e-6 * Math.max(1, Math.abs(expected.unit![i]))));
    }
}

const insertGoal = (c: Client, text: string, embedding: string | null) =>
    c.query(`insert into goal_assessments (user_id, agent_name, goal_text, goal_vector) values ($1, 'a', $2, $3)`, [USER, text, embedding]);

describe("derived embedding columns, kept by the database for every writer", () => {
    let schema: SchemaDatabase;
    let c: Client;

    beforeAll(async () => {
        schema = await schemaDatabase("similarity_derived", { rls: false });
        c = schema.client;
        await c.query(`insert into users (id, email) values ($1, 'a@example.com')`, [USER]);
    });
    afterAll(async () => schema?.drop());

    it("derives unit length and sign bits on insert, and marks embeddings match_* cannot use", async () => {
        const cases: [string, string | null][] = [
            ["a plain", "[0.5, -0.25, 1, 0]"],
            ["b large", "[3e10, -4e10]"],
            ["c tiny", "[1e-30, 2e-30, -2e-30]"],
            ["d null", null],
            ["e empty", "[]"],
            ["f zero", "[0, 0, 0]"],
            ["g string", '[1, "2", 3]'],
            ["h nested", "[[1, 2], [3, 4]]"],
            ["i null element", "[1, null, 3]"],
            ["j boolean", "[1, true]"],
            ["k object", '[{"a": 1}]'],
            ["l overflow", "[1e400, 1]"],
            ["m square overflows", "[1e200, 1]"],
        ];
        for (const [text, embedding] of cases) await insertGoal(c, text, embedding);

        const rows = await goals(c);
        expect(rows).toHaveLength(cases.length);
        rows.forEach(expectTrue);
        expect(rows.filter((row) => row.unit !== null).map((row) => (row.embedding as number[]).length)).toEqual([4, 2, 3, 2]);
    });

    it("derives again when the embedding changes, and keeps both when other columns change", async () => {
        await insertGoal(c, "update me", "[1, 2, 3]");
        await c.query(`update goal_assessments set updated_at = '2024-01-01' where goal_text = 'update me'`);

        await c.query(`update goal_assessments set goal_vector = '[-3, 2, -1, 5]' where goal_text = 'update me'`);
        const [changed] = await goals(c, "goal_text = 'update me'");
        expectTrue(changed);
        expect(changed.signs).toBe("0101");

        await c.query(`update goal_assessments set status = 'achieved', progress = 1 where goal_text = 'update me'`);
        const [other] = await goals(c, "goal_text = 'update me'");
        expect({ unit: other.unit, signs: other.signs, magnitudes: other.magnitudes }).toEqual({
            unit: changed.unit,
            signs: changed.signs,
            magnitudes: changed.magnitudes,
        });
        expect(other.updated_at.getTime()).toBeGreaterThan(Date.parse("2024-02-01")); // the seed's trigger still runs
    });

    it("clears both when the embedding is set to null", async () => {
        await insertGoal(c, "clear me", "[1, 2, 3]");
        await c.query(`update goal_assessments set goal_vector = null where goal_text = 'clear me'`);
        const [row] = await goals(c, "goal_text = 'clear me'");
        expect({ unit: row.unit, signs: row.signs, magnitudes: row.magnitudes }).toEqual({ unit: null, signs: null, magnitudes: null });
    });

    it("overwrites a derived column a writer sets by hand", async () => {
        for (const [text, assignment] of [
            ["tamper unit", "goal_vector_unit = '{9, 9}'"],
            ["tamper signs", "goal_vector_signs = B'11'"],
            ["tamper magnitudes", "goal_vector_magnitudes = B'00'"],
        ]) {
            await insertGoal(c, text, "[1, -1]");
            await c.query(`update goal_assessments set ${assignment} where goal_text = $1`, [text]);
        }
        await c.query(
            `insert into goal_assessments (user_id, agent_name, goal_text, goal_vector, goal_vector_unit, goal_vector_signs)
             values ($1, 'a', 'tamper on insert', '[2, -2]', '{1, 1}', B'11')`,
            [USER],
        );
        const rows = await goals(c, "goal_text like 'tamper%'");
        expect(rows).toHaveLength(4);
        for (const row of rows) {
            expectTrue(row);
            expect(row.signs).toBe("10");
        }
    });

    it("derives every row of a bulk load", async () => {
        const embeddings = Array.from({ length: 1500 }, (_, i) => Array.from({ length: 16 }, (_, j) => Math.sin(i * 16 + j + 1)));
        await c.query(
            `insert into goal_assessments (user_id, agent_name, goal_text, goal_vector)
             select $1, 'bulk', format('bulk %s', lpad(n::text, 4, '0')), e
             from jsonb_array_elements($2::jsonb) with ordinality as t (e, n)`,
            [USER, JSON.stringify(embeddings)],
        );
        const rows = await goals(c, "agent_name = 'bulk'");
        expect(rows).toHaveLength(1500);
        rows.forEach(expectTrue);
    });

    it("keeps belief_graphs.belief_vector_unit and belief_vector_signs the same way", async () => {
        await c.query(
            `insert into belief_graphs (user_id, agent_name, subject, predicate, object, belief_vector) values ($1, 'a', 's', 'p', 'o', '[2, 0, -2]')`,
            [USER],
        );
        await c.query(`update belief_graphs set belief_vector = '[0, 3, 4]'`);
        const { rows } = await c.query(
            `select belief_vector as embedding, belief_vector_unit as unit, belief_vector_signs as signs,
                    belief_vector_magnitudes as magnitudes from belief_graphs`,
        );
        expect(rows).toHaveLength(1);
        expectTrue(rows[0]);
        expect(rows[0].unit).toEqual([0, 0.6, 0.8]);
    });
});

describe("the migration derives the rows written before it", () => {
    let schema: SchemaDatabase;

    beforeAll(async () => {
        schema = await schemaDatabase("similarity_backfill", { rls: false }, false);
        const all = migrationsFor(schema.options);
        await applyMigrations(
            schema.client,
            all.filter((m) => m.name < "0013"),
        );
        await schema.client.query(`insert into users (id, email) values ($1, 'a@example.com')`, [USER]);
        // More rows than one batch of the backfill, some of them unusable, some without an embedding.
        await schema.client.query(
            `insert into goal_assessments (user_id, agent_name, goal_text, goal_vector, updated_at)
             select $1, 'a', format('old %s', lpad(n::text, 4, '0')),
                    case when n % 100 = 0 then null when n % 100 = 1 then '[0, 0]'::jsonb
                         else jsonb_build_array(sin(n), cos(n), sin(n * 2)) end,
                    timestamptz '2024-01-01' + n * interval '1 minute'
             from generate_series(1, 2500) n`,
            [USER],
        );
        await schema.client.query(
            `insert into belief_graphs (user_id, agent_name, subject, predicate, object, belief_vector) values ($1, 'a', 's', 'p', 'o', '[1, -1]')`,
            [USER],
        );
        await applyMigrations(schema.client, all);
    });
    afterAll(async () => schema?.drop());

    it("derives every row, including those beyond the first batch", async () => {
        const rows = await goals(schema.client);
        expect(rows).toHaveLength(2500);
        rows.forEach(expectTrue);
        const { rows: beliefs } = await schema.client.query(`select belief_vector_signs as signs from belief_graphs`);
        expect(beliefs).toEqual([{ signs: "10" }]);
    });

    it("leaves updated_at as the application wrote it", async () => {
        const { rows } = await schema.client.query(
            `select count(*)::int as moved from goal_assessments
             where updated_at <> timestamptz '2024-01-01' + substr(goal_text, 5)::int * interval '1 minute'`,
        );
        expect(rows[0].moved).toBe(0);
    });

    it("lets later updates move updated_at again", async () => {
        await schema.client.query(`update goal_assessments set progress = 0.5 where goal_text = 'old 0002'`);
        const { rows } = await schema.client.query(
            `select updated_at > '2024-02-01' as moved from goal_assessments where goal_text = 'old 0002'`,
        );
        expect(rows[0].moved).toBe(true);
    });
});

describe("a backfill whose trigger does not fire", () => {
    let schema: SchemaDatabase;
    afterAll(async () => schema?.drop());

    it("stops with an error naming the trigger instead of looping", async () => {
        schema = await schemaDatabase("similarity_backfill_off", { rls: false }, false);
        const all = migrationsFor(schema.options);
        await applyMigrations(
            schema.client,
            all.filter((m) => m.name < "0013"),
        );
        await schema.client.query(`insert into users (id, email) values ($1, 'a@example.com')`, [USER]);
        await insertGoal(schema.client, "old", "[1, 2]");
        // Ordinary triggers do not fire in a replica session (what logical replication's apply uses).
        await schema.client.query("set session_replication_role = replica");

        const error = await applyMigrations(schema.client, all).catch((e: Error) => e);

        expect(String(error)).toMatch(
            /0014_similarity_jsonb_fast\.sql: the trigger update_goal_vector_derived did not derive public\.goal_assessments\.goal_vector/,
        );
    });
});
