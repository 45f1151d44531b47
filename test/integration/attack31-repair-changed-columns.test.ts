// README: "A run that adds or drops columns of a table that was there before says to recycle the application's pools
// (prepared `select *`)". `apply --repair` that re-created a derived column dropped by hand from goal_assessments said
// nothing of it, and a connection that had prepared `select *` there failed on its next execution (attack31).
import { beforeAll, describe, expect, it } from "vitest";
import { cli } from "../support/cli";
import { cliDatabases } from "../support/cli-database";
import type { TestDatabase } from "../support/database";

const cliDatabase = cliDatabases();
let db: TestDatabase;

beforeAll(async () => {
    const target = await cliDatabase("attack31_repair_columns");
    db = target.db;
    const apply = await cli(["apply", ...target.roleFlags], target.env);
    expect(apply.code, apply.stderr).toBe(0);
});

describe("apply --repair that re-creates a column of a table still there", () => {
    it("names the table and column and says to recycle the pools, as an upgrade does", async () => {
        const owner = await db.connect();
        await owner.query("alter table goal_assessments drop column goal_vector_unit");
        const agent = await db.connect();
        const prepared = { name: "read-goals", text: "select * from goal_assessments where progress > $1", values: [0] };
        await agent.query(prepared);

        const repair = await cli(["apply", "--repair", "--json"], { DATABASE_URL: db.url });

        expect(repair.code, repair.stderr).toBe(0);
        expect(repair.stderr).toContain("0013_similarity_derived.sql added columns to public.goal_assessments (goal_vector_unit)");
        expect(repair.stderr).toContain("recycle the application's connection pools");
        const result = JSON.parse(repair.stdout) as { repaired: object; changedColumns: unknown };
        expect(result.changedColumns).toEqual([
            { table: "public.goal_assessments", columns: ["goal_vector_unit"], migrations: ["0013_similarity_derived.sql"] },
        ]);
        expect(Object.keys(result.repaired).sort()).toEqual(["alsoCreated", "missing", "rerun"]);
        // What the line warns of.
        await expect(agent.query(prepared)).rejects.toThrow("cached plan must not change result type");
    });
});
