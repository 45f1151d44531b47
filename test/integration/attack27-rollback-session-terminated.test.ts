// The rollback's session terminated (pg_terminate_backend, a failover, a network cut) before it commits — here while it
// waits for the lock of an agent's open transaction. PostgreSQL undoes it; the CLI said only "terminating connection
// due to administrator command", leaving the user to guess whether anything was dropped.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Client } from "pg";
import { cli, startCli } from "../support/cli";
import { until } from "../support/poll";
import { schemaDatabase, type SchemaDatabase } from "../support/schema-db";

let schema: SchemaDatabase;
let agent: Client;

beforeAll(async () => {
    schema = await schemaDatabase("a27_terminated");
    agent = await schema.db.connect();
});

afterAll(async () => {
    await agent?.end();
    await schema?.drop();
});

describe("the rollback's session terminated while it waits for an agent's lock", () => {
    it("says nothing was dropped and to run it again; status shows the schema applied, and the next rollback goes through", async () => {
        const env = { DATABASE_URL: schema.db.url };
        await agent.query("begin; insert into sessions (session_id, agent_name) values ('s-1', 'planner')");
        const rollback = startCli(["rollback", "--allow-data-loss"], env);
        const waiting = await until("the rollback waiting for the agent's lock", async () => {
            const result = await schema.client.query<{ pid: number }>(
                "select pid from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'",
            );
            return result.rows[0]?.pid;
        });

        await schema.client.query("select pg_terminate_backend($1)", [waiting]);
        const ended = await rollback.ended;

        expect(ended.code).toBe(1);
        expect(ended.stderr).toContain(
            "memory-stack rollback failed: the connection was lost during the rollback (terminating connection due to administrator command (SQLSTATE 57P01)), " +
                "before it committed: PostgreSQL undid it, and nothing was dropped. Run it again once the server answers.",
        );
        await agent.query("rollback");
        const status = await cli(["status"], env);
        expect(status.code, status.stdout).toBe(0);
        const again = await cli(["rollback", "--allow-data-loss"], env);
        expect(again.code, again.stderr).toBe(0);
        expect(again.stdout).toContain("rolled back the memory schema");
    });
});
