// The jsonb → vector switch (0015_vector_expand, 0016_vector_contract) on PGlite + pgvector: its
// vector-specific steps. The precheck names every bad row of both tables in one run and changes
// nothing; the switch keeps every row and value, indexes with hnsw (through halfvec above 2000
// dimensions), swaps match_* and leaves no trace of itself; the CLI passes on pgvector's notices; a
// stack that ran the retired 0010_vector finds nothing to do. PGlite serves one session at a time:
// everything here runs on one connection per server (the live and kill tests are on PostgreSQL 15).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Client } from "pg";
import { applyMigrations, describeVariant, readLedger, SchemaRefusedError, SqlFileError } from "../../engine/migrate/index";
import { recordMigration } from "../../engine/migrate/ledger";
import { loadMigrationSources, renderMigrations, schemaChecksum, type SchemaOptions } from "../../engine/migrate/render";
import { splitStatements } from "../../engine/migrate/statements";
import { readStepLedger } from "../../engine/migrate/step-ledger";
import { declaredSteps } from "../../engine/migrate/steps";
import type { StepEvent } from "../../engine/migrate/step-runner";
import { expectationsFor, verifySchema } from "../../engine/verify/index";
import { DEFAULT_OPTIONS } from "../support/apply-sql";
import { cli } from "../support/cli";
import { startPgliteServer, type PgliteServer } from "../support/pglite-server";

const jsonb: SchemaOptions = DEFAULT_OPTIONS;
const vector: SchemaOptions = { ...jsonb, vector: true };
const USER = "00000000-0000-4000-8000-000000000001";
const BAD = {
    short: "00000000-0000-4000-8000-00000000a0f1",
    text: "00000000-0000-4000-8000-00000000a0f2",
    huge: "00000000-0000-4000-8000-00000000a0f3",
    object: "00000000-0000-4000-8000-00000000b0f4",
};

const program = (options: SchemaOptions) => renderMigrations(loadMigrationSources(), options);
const apply = (client: Client, options: SchemaOptions, onEvent?: (event: StepEvent) => void) =>
    applyMigrations(client, program(options), { variant: describeVariant(options), steps: { onEvent } });

async function start(): Promise<{ server: PgliteServer; client: Client }> {
    const server = await startPgliteServer();
    const client = new Client(server);
    await client.connect();
    return { server, client };
}

// Every column but the embedding, plus the embedding as numbers: equal before and after the switch.
async function rows(client: Client, table: string, column: string): Promise<unknown[]> {
    const numbers =
        (await columnType(client, table, column)) === "jsonb"
            ? `case when ${column} is null then null else array(select jsonb_array_elements_text(${column})::real) end`
            : `${column}::real[]`;
    const result = await client.query(
        `select id, (to_jsonb(t) - '${column}')::text as other, ${numbers} as numbers from ${table} t order by id`,
    );
    return result.rows;
}

async function columnType(client: Client, table: string, column: string): Promise<string | undefined> {
    const result = await client.query(
        "select format_type(atttypid, atttypmod) as t from pg_attribute where attrelid = $1::regclass and attname = $2 and not attisdropped",
        [table, column],
    );
    return result.rows[0]?.t;
}

/** What only a switch under way has: the vector extension, twin columns, sync triggers, helper functions. */
async function switchTraces(client: Client) {
    const result = await client.query(`select
        (select count(*)::int from pg_extension where extname = 'vector') as extension,
        (select count(*)::int from pg_attribute join pg_class c on c.oid = attrelid
          where c.relkind = 'r' and attname like '%vector_new' and not attisdropped) as twins,
        (select count(*)::int from pg_trigger where tgname = 'vector_switch_sync') as triggers,
        (select count(*)::int from pg_proc where proname like 'vector_switch%') as helpers,
        (select count(*)::int from pg_proc where proname = 'match_goals') as match_goals`);
    return result.rows[0];
}

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

        expect(result.applied.map((item) => item.name)).toEqual(["0015_vector_expand.sql", "0016_vector_contract.sql"]);
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

describe("more bad rows than a message should hold", () => {
    let server: PgliteServer;
    let client: Client;

    beforeAll(async () => {
        ({ server, client } = await start());
        await apply(client, jsonb);
        await client.query("insert into users (id, email) values ($1, 'ada@example.com')", [USER]);
        await client.query(
            `insert into goal_assessments (user_id, agent_name, goal_text, goal_vector) select $1, 'a', 'g' || n, '[1, 2]' from generate_series(1, 1001) n`,
            [USER],
        );
    }, 120_000);

    afterAll(async () => {
        await client?.end();
        await server?.stop();
    });

    it("names the first 1000 and gives the query that lists every one", async () => {
        const error = (await apply(client, vector).catch((e: unknown) => e)) as SqlFileError;

        expect(error.message).toContain("1001 row(s) hold an embedding that is not an array of 3 numbers in range");
        expect(error.message).toContain("(2 elements, not 3), … (the first 1000 by id)");
        expect(error.message.match(/\(2 elements, not 3\)/g)).toHaveLength(1000);
        const query = /to list every one \(the first 1000 per table are named above\):\s*(select .*;)/.exec(error.message)![1];
        expect((await client.query(query)).rows).toHaveLength(1001);
    });
});

describe("a write that bypasses the sync trigger during the switch", () => {
    let server: PgliteServer;
    let client: Client;
    const LATE = "00000000-0000-4000-8000-00000000c001";
    const WRONG = "00000000-0000-4000-8000-00000000c002";

    beforeAll(async () => {
        ({ server, client } = await start());
        await apply(client, jsonb);
        await client.query("insert into users (id, email) values ($1, 'ada@example.com')", [USER]);
    }, 120_000);

    afterAll(async () => {
        await client?.end();
        await server?.stop();
    });

    // session_replication_role = replica is what a replication or bulk-load tool sets: triggers do not fire.
    const bypassing = (id: string, embedding: string) =>
        client.query(`set session_replication_role = replica;
            insert into goal_assessments (id, user_id, agent_name, goal_text, goal_vector) values ('${id}', '${USER}', 'a', 'late', '${embedding}');
            reset session_replication_role`);

    it("is named by the backfill when it cannot be converted, leaving a switch the next apply resumes", async () => {
        const error = await apply(client, vector, (event) => {
            if (event.type === "step" && event.step === "expand") {
                void bypassing(WRONG, "[1, 2]");
            }
        }).catch((e: unknown) => e);

        expect((error as Error).message).toContain(
            `cannot convert the embedding of public.goal_assessments row ${WRONG} to vector(3): 2 elements, not 3`,
        );
        expect((error as Error).message).toContain("0015_vector_expand.sql step backfill_goals rolled back its last batch only");
        expect((await readStepLedger(client)).map((row) => row.step)).toEqual(["precheck", "expand"]);
    });

    it("leaves a switch under way that `memory-stack status` shows as partly applied", async () => {
        await client.end(); // PGlite: one session at a time
        const url = `postgresql://${server.user}:${server.password}@${server.host}:${server.port}/${server.database}`;
        const result = await cli([
            "status",
            "--url",
            url,
            "--vector",
            "--dimensions",
            "3",
            "--app-role",
            jsonb.appRole,
            "--admin-role",
            jsonb.adminRole,
        ]);
        client = new Client(server);
        await client.connect();

        expect(result.code).toBe(1);
        expect(result.stdout).toContain("  pending  0015_vector_expand.sql, partly applied: precheck, expand done");
        expect(result.stdout).toContain("  pending  0016_vector_contract.sql\n");
    });

    it("is converted by the contract when the backfill had passed it", async () => {
        await client.query("delete from goal_assessments where id = $1", [WRONG]);
        await apply(client, vector, (event) => {
            if (event.type === "step" && event.step === "backfill_beliefs") {
                void bypassing(LATE, "[1, 0, 0]");
            }
        });

        const late = await client.query("select goal_vector::real[] as v from goal_assessments where id = $1", [LATE]);
        expect(late.rows).toEqual([{ v: [1, 0, 0] }]);
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
        const upToContract = program(vector).filter((m) => m.name !== "0016_vector_contract.sql");
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
        const body = await client.query("select prosrc from pg_proc where proname = 'match_goals'");
        expect(body.rows[0].prosrc).toContain("order by g.goal_vector::halfvec(3072) <=> $1::halfvec(3072)");
        expect((await verifySchema(client, await expectationsFor(wide, program(wide)))).problems).toEqual([]);
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
        // As the engine applied 0010 before it was retired: the file and its ledger row in one transaction.
        const retired = program(vector).find((m) => m.name === "0010_vector.sql")!;
        await client.query("begin");
        await client.query(retired.sql);
        await recordMigration(client, { name: retired.name, checksum: retired.checksum, variant: describeVariant(vector), durationMs: 1 });
        await client.query("commit");
    }, 120_000);

    afterAll(async () => {
        await client?.end();
        await server?.stop();
    });

    it("applies the switch files as nothing to do: same columns, same index, same function bodies", async () => {
        const catalog = () =>
            client.query(`select
                (select string_agg(format_type(atttypid, atttypmod), ',') from pg_attribute where attname in ('goal_vector', 'belief_vector') and not attisdropped) as types,
                (select oid::int from pg_class where relname = 'idx_goal_assessments_goal_vector') as index,
                (select string_agg(md5(prosrc), ',' order by proname) from pg_proc where proname like 'match_%') as bodies`);
        const before = (await catalog()).rows[0];
        const events: StepEvent[] = [];

        const result = await apply(client, vector, (event) => events.push(event));

        expect(result.applied.map((item) => item.name)).toEqual(["0015_vector_expand.sql", "0016_vector_contract.sql"]);
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
        expect((await verifySchema(client, await expectationsFor(vector, program(vector)))).problems).toEqual([]);
        const order = program(vector).map((m) => m.name);
        ledger.sort((a, b) => order.indexOf(a.name) - order.indexOf(b.name));
        expect(schemaChecksum(ledger.map(({ name, checksum }) => ({ name, checksum, sql: "" })))).toBe(schemaChecksum(program(vector)));
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
        url = `postgresql://${server.user}:${server.password}@${server.host}:${server.port}/${server.database}`;
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
            expect(result.stdout).toContain("applied 2 migrations");
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
