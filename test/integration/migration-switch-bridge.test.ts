// A call of match_goals that straddles the swap, on PostgreSQL 15 (the stand-in switch). The call
// resolves the function while the column is jsonb, then waits for the contract's lock, then runs the
// function's body against the swapped column. With the jsonb variant's body that fails; after the
// contract's bridge step the body takes the table's lock first, then reads the column's type, and the
// call answers. The contract is driven by hand here, statement by statement, to hold it open.
import type { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { applyMigrations } from "../../engine/migrate/index";
import type { Migration } from "../../engine/migrate/render";
import { splitStatements } from "../../engine/migrate/statements";
import { declaredSteps } from "../../engine/migrate/steps";
import { DEFAULT_OPTIONS } from "../support/apply-sql";
import { dropRoles, freshDatabase, type TestDatabase } from "../support/database";
import { until } from "../support/poll";
import { embedding, seedEmbeddings, standInProgram } from "../support/switch-data";

const options = { ...DEFAULT_OPTIONS, vectorDimensions: 4 };
const { program } = standInProgram(options);
const contract = program.at(-1)!;
const beforeContract = program.slice(0, -1);

let db: TestDatabase;
const copies: string[] = [];

beforeAll(async () => {
    db = await freshDatabase("switch_bridge");
});

afterAll(async () => {
    const admin = await db.connect({ database: "postgres" });
    for (const name of copies) await admin.query(`drop database if exists "${name}" with (force)`);
    await db?.drop();
    await dropRoles(db.server, [options.appRole, options.adminRole]);
});

async function stepStatements(file: Migration, step: string): Promise<string[]> {
    const steps = declaredSteps(file.name, file.sql, await splitStatements(file.sql))!;
    return steps.find((s) => s.name === step)!.statements.map((s) => s.text);
}

/** A fresh copy of the schema with the embeddings expanded and backfilled, 0016 not started. */
async function expanded(name: string): Promise<{ owner: Client; app: Client }> {
    const database = `${db.name}_${name}`;
    copies.push(database);
    await (await db.connect({ database: "postgres" })).query(`create database "${database}"`);
    const config = { ...db.config, database };
    const owner = await db.connect(config);
    await applyMigrations(owner, beforeContract, { variant: "jsonb" });
    await seedEmbeddings(owner, { users: 1, goalsPerUser: 5, beliefsPerUser: 1, dimensions: 4 });
    const app = await db.connect({ ...config, application_name: "app-straddling" });
    return { owner, app };
}

/** Starts match_goals on `app`, then commits the open contract once the call waits for its lock; the call's outcome. */
async function straddle(owner: Client, app: Client): Promise<unknown> {
    const call = app.query("select goal_text from match_goals($1, 2)", [JSON.stringify(embedding(1, 4))]).then(
        (result) => result.rows.length,
        (error: Error) => error,
    );
    await until("the call to wait for the contract's lock", async () => {
        const waiting = await db.connect();
        const { rows } = await waiting.query(
            "select count(*)::int as n from pg_stat_activity where application_name = 'app-straddling' and wait_event_type = 'Lock'",
        );
        await waiting.end();
        return rows[0].n === 1 ? true : undefined;
    });
    await owner.query("commit");
    return call;
}

describe("a match_goals call that straddles the swap", () => {
    it("fails with the jsonb variant's body: why the contract has a bridge step", async () => {
        const { owner, app } = await expanded("without_bridge");
        await owner.query("begin");
        for (const statement of await stepStatements(contract, "contract_goals")) await owner.query(statement);

        const outcome = await straddle(owner, app);

        expect(outcome).toBeInstanceOf(Error);
        expect((outcome as Error).message).toBe("column t.goal_vector_unit does not exist");
    });

    it("answers after the bridge step, whichever column type it finds", async () => {
        const { owner, app } = await expanded("with_bridge");
        for (const statement of await stepStatements(contract, "bridge")) await owner.query(statement);
        expect((await app.query("select goal_text from match_goals($1, 2)", [JSON.stringify(embedding(1, 4))])).rows).toHaveLength(2);
        await owner.query("begin");
        for (const statement of await stepStatements(contract, "contract_goals")) await owner.query(statement);

        expect(await straddle(owner, app)).toBe(2);
    });
});
