// Switching variant on PGlite + pgvector: a live jsonb stack switched to vector keeps every row and value;
// arrays of the wrong length stop the switch with the offending rows named; going back is refused.
// PGlite serves one session at a time, so everything here runs on one connection.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Client } from "pg";
import { applyMigrations, describeVariant, readLedger, SchemaRefusedError, SqlFileError } from "../../engine/migrate/index";
import { loadMigrationSources, renderMigrations, type SchemaOptions } from "../../engine/migrate/render";
import { DEFAULT_OPTIONS } from "../support/apply-sql";
import { startPgliteServer, type PgliteServer } from "../support/pglite-server";

const jsonb: SchemaOptions = DEFAULT_OPTIONS;
const vector: SchemaOptions = { ...jsonb, vector: true };
const USER = "00000000-0000-4000-8000-000000000001";
const BAD_GOAL = "00000000-0000-4000-8000-00000000a0ff";

let server: PgliteServer;
let client: Client;

const apply = (options: SchemaOptions) =>
    applyMigrations(client, renderMigrations(loadMigrationSources(), options), { variant: describeVariant(options) });

// Every column but the embedding, plus the embedding as numbers: equal before and after the switch.
async function rows(table: string, column: string): Promise<unknown[]> {
    const numbers =
        (await columnType(table, column)) === "jsonb"
            ? `case when ${column} is null then null else array(select jsonb_array_elements_text(${column})::real) end`
            : `${column}::real[]`;
    const result = await client.query(
        // The jsonb variant's derived copies of the embedding (sql/0013) go with the switch: not compared.
        `select id, (to_jsonb(t) - array['${column}', '${column}_unit', '${column}_signs', '${column}_magnitudes'])::text as other,
                ${numbers} as numbers from ${table} t order by id`,
    );
    return result.rows;
}
const goals = () => rows("goal_assessments", "goal_vector");
const beliefs = () => rows("belief_graphs", "belief_vector");

async function columnType(table: string, column: string): Promise<string> {
    return (
        await client.query(
            "select format_type(atttypid, atttypmod) as t from pg_attribute where attrelid = $1::regclass and attname = $2",
            [table, column],
        )
    ).rows[0].t;
}

beforeAll(async () => {
    server = await startPgliteServer();
    client = new Client(server);
    await client.connect();
    await apply(jsonb);
    await client.query("insert into users (id, email) values ($1, 'ada@example.com')", [USER]);
    // Values exactly representable as real, so "every value kept" is an exact comparison.
    await client.query(
        `insert into goal_assessments (id, user_id, agent_name, goal_text, goal_vector, tags) values
        ('00000000-0000-4000-8000-00000000a001', $1, 'sales', 'buy a robot', '[0.5, -0.25, 1]', '{car}'),
        ('00000000-0000-4000-8000-00000000a002', $1, 'sales', 'lower the rate', '[0, 0.125, -2]', '{}'),
        ('00000000-0000-4000-8000-00000000a003', $1, 'support', 'no embedding yet', null, '{}')`,
        [USER],
    );
    await client.query(
        `insert into belief_graphs (id, user_id, agent_name, subject, predicate, object, belief_vector) values
        ('00000000-0000-4000-8000-00000000b001', $1, 'sales', 'ada', 'prefers', 'email', '[1, 2, 3]'),
        ('00000000-0000-4000-8000-00000000b002', $1, 'sales', 'ada', 'owns', 'sedan', null)`,
        [USER],
    );
}, 120_000);

afterAll(async () => {
    await client?.end();
    await server?.stop();
});

describe("switching a live jsonb stack to vector", () => {
    it("stops at an array of the wrong length, naming the file and the row, and changes nothing", async () => {
        await client.query(
            "insert into goal_assessments (id, user_id, agent_name, goal_text, goal_vector) values ($1, $2, 'sales', 'too short', '[1, 2]')",
            [BAD_GOAL, USER],
        );
        const before = await goals();

        const error = await apply(vector).catch((e: unknown) => e);

        expect(error).toBeInstanceOf(SqlFileError);
        expect((error as SqlFileError).file).toBe("0010_vector.sql");
        expect((error as SqlFileError).sqlState).toBe("22000");
        expect((error as Error).message).toContain(BAD_GOAL);
        expect(await columnType("goal_assessments", "goal_vector")).toBe("jsonb");
        expect(await goals()).toEqual(before);
        expect((await readLedger(client)).map((row) => row.name)).not.toContain("0010_vector.sql");
    });

    it("converts both embedding columns in place once the row is fixed, keeping every row and value", async () => {
        await client.query("delete from goal_assessments where id = $1", [BAD_GOAL]);
        const goalsBefore = await goals();
        const beliefsBefore = await beliefs();

        const result = await apply(vector);

        expect(result.applied.map((item) => item.name)).toEqual(["0010_vector.sql", "0017_similarity_vector.sql"]);
        expect(await columnType("goal_assessments", "goal_vector")).toBe("vector(3)");
        expect(await columnType("belief_graphs", "belief_vector")).toBe("vector(3)");
        expect(await goals()).toEqual(goalsBefore);
        expect(await beliefs()).toEqual(beliefsBefore);
        expect(goalsBefore).toHaveLength(3);
        const best = await client.query("select goal_text from match_goals('[0.5,-0.25,1]'::vector, 1, $1)", [USER]);
        expect(best.rows).toEqual([{ goal_text: "buy a robot" }]);
        expect((await readLedger(client)).find((row) => row.name === "0010_vector.sql")?.variant).toBe("vector(3,hnsw)");
    });

    it("refuses to turn vector off again or change its dimensions, before anything runs", async () => {
        await expect(apply(jsonb)).rejects.toThrow(SchemaRefusedError);
        await expect(apply(jsonb)).rejects.toThrow("Turning vector off on a live stack is not supported");
        await expect(apply({ ...vector, vectorDimensions: 4 })).rejects.toThrow("vectorDimensions and vectorIndex cannot change");
        expect(await columnType("goal_assessments", "goal_vector")).toBe("vector(3)");
    });
});
