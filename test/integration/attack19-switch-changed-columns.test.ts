// attack19: the changed-columns line (engine/migrate/changed-columns.ts) tells a user to recycle the application's pools
// after a run that changed a memory table's row type under its open connections. The jsonb → vector switch changes
// goal_assessments' and belief_graphs' row types most of all (the embedding's type, the derived columns dropped), yet
// 0015 adds goal_vector_new and 0016 renames it to goal_vector: its record is forgotten, and the run says nothing.
// What a user loses: every agent connection that prepared `select * from goal_assessments` before the switch fails with
// "cached plan must not change result type" on every execution after it, with no line telling them why or what to do.
//
// The switch is the stand-in (test/fixtures/stand-in: 0015/0016's steps, converting to real[]) on PostgreSQL 15.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Client } from "pg";
import { describeChangedColumns } from "../../engine/migrate/changed-columns";
import { applyMigrations, type ApplyResult } from "../../engine/migrate/index";
import { DEFAULT_OPTIONS } from "../support/apply-sql";
import { schemaDatabase, type SchemaDatabase } from "../support/schema-db";
import { seedEmbeddings, standInProgram } from "../support/switch-data";

let schema: SchemaDatabase;
let agent: Client;
let result: ApplyResult;
let executedAfter: string;

beforeAll(async () => {
    schema = await schemaDatabase("a19_switch_cols", { ...DEFAULT_OPTIONS, vectorDimensions: 8 }, false);
    const { base, program } = standInProgram({ ...schema.options, vectorDimensions: 8 });
    await applyMigrations(schema.client, base, { variant: "jsonb" });
    const [user] = await seedEmbeddings(schema.client, { users: 1, goalsPerUser: 2, beliefsPerUser: 1, dimensions: 8 });
    agent = await schema.db.connect();
    const read = { name: "read-goal", text: "select * from public.goal_assessments where id = $1", values: [user.goals[0]] };
    await agent.query(read);
    result = await applyMigrations(schema.client, program, { variant: "jsonb" });
    executedAfter = await agent.query(read).then(
        () => "executed",
        (error: Error) => error.message,
    );
}, 120_000);

afterAll(async () => {
    await agent?.end();
    await schema?.drop();
});

describe("the jsonb → vector switch (stand-in) applied to a stack with rows", () => {
    it("breaks a connection's prepared select * on goal_assessments (PostgreSQL's rule: the premise of the line)", () => {
        expect(executedAfter).toMatch(/cached plan must not change result type/);
    });

    it("says so, naming goal_assessments, as the line does for 0013's added columns", () => {
        expect(result.applied.map((migration) => migration.name)).toContain("0016_stand_in_contract.sql");
        const line = describeChangedColumns(result.changedColumns).join("\n");
        expect(line).toMatch(/public\.goal_assessments \([^)]*dropped [^)]*goal_vector_signs/);
        expect(line).toMatch(/public\.belief_graphs \([^)]*dropped [^)]*belief_vector_signs/);
        expect(line).toContain("recycle the application's connection pools");
    });
});
