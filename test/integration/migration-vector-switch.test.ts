// The jsonb → vector switch (0015_vector_expand, 0016_vector_contract) on PGlite + pgvector: a live
// jsonb stack switched keeps every row and value and leaves no trace of the switch, the precheck
// names every bad row first, the contract's bridge answers across the swap, and a stack that ran the
// retired 0010_vector finds nothing to do. PGlite serves one session at a time (the live and kill
// tests are on PostgreSQL 15).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Client } from "pg";
import { applyMigrations, describeVariant, readLedger, SchemaRefusedError, SqlFileError } from "../../engine/migrate/index";
import { schemaChecksum } from "../../engine/migrate/render";
import { splitStatements } from "../../engine/migrate/statements";
import { readStepLedger } from "../../engine/migrate/step-ledger";
import { declaredSteps } from "../../engine/migrate/steps";
import type { StepEvent } from "../../engine/migrate/step-runner";
import { expectationsFor, verifySchema } from "../../engine/verify/index";
import { applyAsBeforeRetirement } from "../support/retired-migration";
import { grantStackPrivileges } from "../support/schema-db";
import type { PgliteServer } from "../support/pglite-server";
import { apply, columnType, jsonb, program, rows, start, switchTraces, USER, vector } from "../support/vector-switch";

const BAD = {
    short: "00000000-0000-4000-8000-00000000a0f1",
    text: "00000000-0000-4000-8000-00000000a0f2",
    huge: "00000000-0000-4000-8000-00000000a0f3",
    object: "00000000-0000-4000-8000-00000000b0f4",
};

describe("switching a live jsonb stack to vector", () => {
    let server: PgliteServer;
    let client: Client;

    beforeAll(async () => {
        ({ server, client } = await start());
        await apply(client, jsonb);
        await client.query("insert into users (id, email) values ($1, 'ada@example.com')", [USER]);
        // Values exactly representable as real, so "every value kept" is an exact comparison.
        await client.query(
            `insert into goal_assessments (id, user_id, agent_name, goal_text, goal_vector, tags, updated_at) values
            ('00000000-0000-4000-8000-00000000a001', $1, 'sales', 'buy a robot', '[0.5, -0.25, 1]', '{car}', '2020-01-01'),
            ('00000000-0000-4000-8000-00000000a002', $1, 'sales', 'lower the rate', '[0, 0.125, -2]', '{}', '2020-01-02'),
            ('00000000-0000-4000-8000-00000000a003', $1, 'support', 'no embedding yet', null, '{}', '2020-01-03')`,
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

    it("names every bad row of both tables in one run, out-of-range values included, and changes nothing", async () => {
        await client.query(
            `insert into goal_assessments (id, user_id, agent_name, goal_text, goal_vector) values
            ($1, $4, 'sales', 'too short', '[1, 2]'), ($2, $4, 'sales', 'a word', '[1, "x", 3]'), ($3, $4, 'sales', 'too big', '[1, 1e39, 3]')`,
            [BAD.short, BAD.text, BAD.huge, USER],
        );
        await client.query(
            `insert into belief_graphs (id, user_id, agent_name, subject, predicate, object, belief_vector) values ($1, $2, 'sales', 'a', 'b', 'c', '[{"x": 1}, 2, 3]')`,
            [BAD.object, USER],
        );
        const embeddings = () => client.query("select id, goal_vector::text from goal_assessments order by id");
        const goalsBefore = (await embeddings()).rows;

        const error = await apply(client, vector).catch((e: unknown) => e);

        expect(error).toBeInstanceOf(SqlFileError);
        expect((error as SqlFileError).file).toBe("0015_vector_expand.sql");
        expect((error as SqlFileError).sqlState).toBe("22000");
        const message = (error as Error).message;
        expect(message).toContain(
            "cannot switch the embeddings to vector(3): 4 row(s) hold an embedding that is not an array of 3 numbers in range",
        );
        expect(message).toContain(
            `public.goal_assessments.goal_vector, 3 row(s): ${BAD.short} (2 elements, not 3), ${BAD.text} (element 2 is a json string, not a number), ${BAD.huge} (element 2 = 1e+39 is out of range for vector (float4))`,
        );
        expect(message).toContain(`public.belief_graphs.belief_vector, 1 row(s): ${BAD.object} (element 1 is a json object, not a number)`);
        expect(await switchTraces(client)).toEqual({ extension: 0, twins: 0, triggers: 0, helpers: 0, match_goals: 1 });
        expect((await embeddings()).rows).toEqual(goalsBefore);
        expect(await readStepLedger(client)).toEqual([]);
        expect((await readLedger(client)).map((row) => row.name)).not.toContain("0015_vector_expand.sql");
    });

    it("converts both columns in steps once the rows are fixed, keeping every row, value and updated_at", async () => {
        await client.query("delete from goal_assessments where id = any($1)", [[BAD.short, BAD.text, BAD.huge]]);
        await client.query("delete from belief_graphs where id = $1", [BAD.object]);
        const goalsBefore = await rows(client, "goal_assessments", "goal_vector");
        const beliefsBefore = await rows(client, "belief_graphs", "belief_vector");
        const events: StepEvent[] = [];

        const result = await apply(client, vector, (event) => events.push(event));

        expect(result.applied.map((item) => item.name)).toEqual([
            "0015_vector_expand.sql",
            "0016_vector_contract.sql",
            "0017_similarity_vector.sql",
        ]);
        expect(events.filter((e) => e.type === "step").map((e) => `${e.migration.slice(0, 4)} ${e.step}`)).toEqual([
            "0015 precheck",
            "0015 expand",
            "0015 backfill_goals",
            "0015 backfill_beliefs",
            "0015 index_goals",
            "0015 index_beliefs",
            "0016 bridge",
            "0016 contract_goals",
            "0016 contract_beliefs",
            "0016 cleanup",
            "0016 index_goals",
            "0016 index_beliefs",
        ]);
        expect(events.filter((e) => e.type === "rows" && e.step === "backfill_goals")).toEqual([
            expect.objectContaining({ done: 3, total: 3 }),
        ]);
        expect(await columnType(client, "goal_assessments", "goal_vector")).toBe("vector(3)");
        expect(await columnType(client, "belief_graphs", "belief_vector")).toBe("vector(3)");
        expect(await rows(client, "goal_assessments", "goal_vector")).toEqual(goalsBefore);
        expect(await rows(client, "belief_graphs", "belief_vector")).toEqual(beliefsBefore);
        expect(await switchTraces(client)).toEqual({ extension: 1, twins: 0, triggers: 0, helpers: 0, match_goals: 1 });
        const best = await client.query("select goal_text from match_goals('[0.5,-0.25,1]', 1, $1)", [USER]);
        expect(best.rows).toEqual([{ goal_text: "buy a robot" }]);
        const ledger = await readLedger(client);
        expect(ledger.map((row) => row.name)).not.toContain("0010_vector.sql");
        expect(ledger.find((row) => row.name === "0016_vector_contract.sql")?.variant).toBe("vector(3,hnsw)");
        expect(await readStepLedger(client)).toEqual([]);
    });

    it("builds the hnsw indexes concurrently on the final columns, valid, and passes verification", async () => {
        const { rows: indexes } = await client.query(
            `select indexdef, indisvalid from pg_indexes join pg_index on indexrelid = (schemaname || '.' || indexname)::regclass
             where indexname in ('idx_goal_assessments_goal_vector', 'idx_belief_graphs_belief_vector') order by indexname`,
        );
        expect(indexes).toEqual([
            {
                indexdef:
                    "CREATE INDEX idx_belief_graphs_belief_vector ON public.belief_graphs USING hnsw (belief_vector vector_cosine_ops)",
                indisvalid: true,
            },
            {
                indexdef:
                    "CREATE INDEX idx_goal_assessments_goal_vector ON public.goal_assessments USING hnsw (goal_vector vector_cosine_ops)",
                indisvalid: true,
            },
        ]);
        await grantStackPrivileges(client, vector);
        const report = await verifySchema(client, await expectationsFor(vector, program(vector)));
        expect(report.problems).toEqual([]);
    });

    it("agrees with the program on the schema checksum read back from the ledger (what refresh compares)", async () => {
        const ledger = await readLedger(client);
        const order = program(vector).map((m) => m.name);
        ledger.sort((a, b) => order.indexOf(a.name) - order.indexOf(b.name));
        expect(schemaChecksum(ledger.map(({ name, checksum }) => ({ name, checksum, sql: "" })))).toBe(schemaChecksum(program(vector)));
    });

    it("refuses to turn vector off again or change its dimensions, before anything runs", async () => {
        await expect(apply(client, jsonb)).rejects.toThrow(SchemaRefusedError);
        await expect(apply(client, jsonb)).rejects.toThrow("Turning vector off on a live stack is not supported");
        await expect(apply(client, { ...vector, vectorDimensions: 4 })).rejects.toThrow("vectorDimensions and vectorIndex cannot change");
        expect(await columnType(client, "goal_assessments", "goal_vector")).toBe("vector(3)");
    });
});

describe("the contract's bridge", () => {
    let server: PgliteServer;
    let client: Client;
    const contract = () => program(vector).find((m) => m.name === "0016_vector_contract.sql")!;
    const statements = async (step: string) => {
        const file = contract();
        return declaredSteps(file.name, file.sql, await splitStatements(file.sql))!.find((s) => s.name === step)!.statements;
    };

    beforeAll(async () => {
        ({ server, client } = await start());
        await apply(client, jsonb);
        await client.query("insert into users (id, email) values ($1, 'ada@example.com')", [USER]);
        await client.query(
            `insert into goal_assessments (user_id, agent_name, goal_text, goal_vector) values ($1, 'a', 'near', '[1, 0, 0]'), ($1, 'a', 'far', '[0, 1, 0]')`,
            [USER],
        );
        await client.query(
            `insert into belief_graphs (user_id, agent_name, subject, predicate, object, belief_vector) values ($1, 'a', 's', 'p', 'near', '[1, 0, 0]')`,
            [USER],
        );
        // The vector program without the contract and what follows it in the switch (0018, applied for jsonb, stays).
        const upToContract = program(vector).filter((m) => !["0016_vector_contract.sql", "0017_similarity_vector.sql"].includes(m.name));
        await applyMigrations(client, upToContract, { variant: describeVariant(vector) });
        for (const statement of await statements("bridge")) await client.query(statement.text);
    }, 120_000);

    afterAll(async () => {
        await client?.end();
        await server?.stop();
    });

    const ask = async () => ({
        goals: (await client.query("select goal_text, round(similarity::numeric, 3)::float as s from match_goals('[1, 0.1, 0]', 2)")).rows,
        beliefs: (await client.query("select object from match_beliefs('[1, 0.1, 0]', 1)")).rows,
    });
    const expected = {
        goals: [
            { goal_text: "near", s: 0.995 },
            { goal_text: "far", s: 0.1 },
        ],
        beliefs: [{ object: "near" }],
    };

    it("answers from the jsonb columns before the swap", async () => {
        expect(await ask()).toEqual(expected);
    });

    it("answers the same from the vector columns after the swap, before the vector functions replace it", async () => {
        // Only the swaps of contract_goals and contract_beliefs (their first statement), not the function replacements.
        await client.query((await statements("contract_goals"))[0].text);
        await client.query((await statements("contract_beliefs"))[0].text);
        expect(await columnType(client, "goal_assessments", "goal_vector")).toBe("vector(3)");

        expect(await ask()).toEqual(expected);
    });
});

describe("a stack that ran the retired 0010_vector", () => {
    let server: PgliteServer;
    let client: Client;

    beforeAll(async () => {
        ({ server, client } = await start());
        await apply(client, jsonb);
        await client.query("insert into users (id, email) values ($1, 'ada@example.com')", [USER]);
        await client.query(
            "insert into goal_assessments (user_id, agent_name, goal_text, goal_vector) values ($1, 'a', 'kept', '[1, 2, 3]')",
            [USER],
        );
        await applyAsBeforeRetirement(
            client,
            program(vector).find((m) => m.name === "0010_vector.sql")!,
            vector,
        );
    }, 120_000);

    afterAll(async () => {
        await client?.end();
        await server?.stop();
    });

    // match_* are replaced all the same: by 0017's, which follow the switch whichever way the columns became vector.
    it("applies the switch files as nothing to do: same columns, same index", async () => {
        const catalog = () =>
            client.query(`select
                (select string_agg(format_type(atttypid, atttypmod), ',') from pg_attribute where attname in ('goal_vector', 'belief_vector') and not attisdropped) as types,
                (select oid::int from pg_class where relname = 'idx_goal_assessments_goal_vector') as index`);
        const before = (await catalog()).rows[0];
        const events: StepEvent[] = [];

        const result = await apply(client, vector, (event) => events.push(event));

        expect(result.applied.map((item) => item.name)).toEqual([
            "0015_vector_expand.sql",
            "0016_vector_contract.sql",
            "0017_similarity_vector.sql",
        ]);
        expect(events.filter((e) => e.type === "step" && e.outcome === "nothing to do").map((e) => e.step)).toEqual([
            "backfill_goals",
            "backfill_beliefs",
            "index_goals",
            "index_beliefs",
        ]);
        expect((await catalog()).rows[0]).toEqual(before);
        const ledger = await readLedger(client);
        expect(ledger.map((row) => row.name)).toContain("0010_vector.sql");
        expect(await switchTraces(client)).toEqual({ extension: 1, twins: 0, triggers: 0, helpers: 0, match_goals: 1 });
        await grantStackPrivileges(client, vector);
        expect((await verifySchema(client, await expectationsFor(vector, program(vector)))).problems).toEqual([]);
        const order = program(vector).map((m) => m.name);
        ledger.sort((a, b) => order.indexOf(a.name) - order.indexOf(b.name));
        expect(schemaChecksum(ledger.map(({ name, checksum }) => ({ name, checksum, sql: "" })))).toBe(schemaChecksum(program(vector)));
    });
});
