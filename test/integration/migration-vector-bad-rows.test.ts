// Embeddings that cannot become vector(N), on PGlite + pgvector: more bad rows than a message holds,
// and writes that bypass the switch's trigger (a replication or bulk-load tool) while it runs.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Client } from "pg";
import type { SqlFileError } from "../../engine/migrate/index";
import { readStepLedger } from "../../engine/migrate/step-ledger";
import { cli } from "../support/cli";
import type { PgliteServer } from "../support/pglite-server";
import { apply, jsonb, start, urlOf, USER, vector } from "../support/vector-switch";

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

    // session_replication_role = replica is what a replication or bulk-load tool sets: triggers do not fire. Sent on the
    // migrating connection (PGlite serves one), between two steps: there the session's search_path is the engine's own
    // (pg_catalog, pg_temp), hence the schema.
    const bypassing = (id: string, embedding: string) =>
        client.query(`set session_replication_role = replica;
            insert into public.goal_assessments (id, user_id, agent_name, goal_text, goal_vector) values ('${id}', '${USER}', 'a', 'late', '${embedding}');
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
        const url = urlOf(server);
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
