// README: "A run that adds or drops columns of a table that was there before says to recycle the application's pools
// (prepared `select *`)". The rollback drops the memory columns of an application's own users, a table that stays and
// that every request reads, and said nothing: a connection that had prepared `select * from users` failed on its next
// execution with "cached plan must not change result type" (attack31).
import { beforeAll, describe, expect, it } from "vitest";
import { cli } from "../support/cli";
import { cliDatabases } from "../support/cli-database";
import type { TestDatabase } from "../support/database";

const cliDatabase = cliDatabases();
let db: TestDatabase;

beforeAll(async () => {
    const target = await cliDatabase("attack31_rollback_columns");
    db = target.db;
    await target.client.query("create table public.users (id uuid primary key, email text)");
    const apply = await cli(["apply", ...target.roleFlags], target.env);
    expect(apply.code, apply.stderr).toBe(0);
});

describe("a rollback that drops the memory columns of the application's users", () => {
    it("names them and says to recycle the pools, as an apply that adds them does", async () => {
        const agent = await db.connect();
        const prepared = { name: "read-users", text: "select * from users where email = $1", values: ["a@example.com"] };
        await agent.query(prepared);

        const rollback = await cli(["rollback"], { DATABASE_URL: db.url });

        expect(rollback.code, rollback.stderr).toBe(0);
        expect(rollback.stdout).toContain(
            "the rollback changed the columns of public.users (dropped last_memory_activity_at, memory_enabled, memory_preferences)",
        );
        expect(rollback.stdout).toContain("recycle the application's connection pools");
        // What the line warns of.
        await expect(agent.query(prepared)).rejects.toThrow("cached plan must not change result type");
    });
});
