// attack19 (fails): lock.ts keeps lock_timeout at half the server's deadlock_timeout and docs/migrating-under-load.md
// says the migration's own wait then "always ends first", so an agent is never the deadlock victim. That holds when the
// migration's wait that closes the cycle starts soon after the agent queued. A migration that locks table after table
// (0011 takes sessions, agent_executions, memory_logs, goal_assessments, belief_graphs in one transaction, as upgrades
// from release 2 run it) may first wait on two tables in turn, each wait shorter than lock_timeout, while an agent that
// wrote a belief has queued behind it on sessions since the first. The cycle then closes lock_timeout × 1.5 after the
// agent queued, the agent's deadlock check fires at deadlock_timeout = 2 × lock_timeout, before the migration's
// lock_timeout ends at 2.5 × — and PostgreSQL aborts the agent. What a user loses: the agent's transaction (its belief)
// rolled back with "deadlock detected", the very outcome the lowering was for.
//
// Timings at six times the defaults (deadlock_timeout 6 s, lock_timeout 3 s, the rule's own ratio) so that the test's
// margins are a second or more on a loaded machine; with the defaults (1 s, 500 ms) it is the same at a sixth.
import type { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { applyMigrations, describeVariant } from "../../engine/migrate/index";
import { migrationsFor } from "../support/apply-sql";
import { until } from "../support/poll";
import { schemaDatabase, type SchemaDatabase } from "../support/schema-db";

const A = "00000000-0000-4000-8000-00000000000a";
let schema: SchemaDatabase;

beforeAll(async () => {
    schema = await schemaDatabase("a19_cycle", {}, false);
    const release2 = migrationsFor(schema.options).filter((m) => m.name < "0011");
    await applyMigrations(schema.client, release2, { variant: describeVariant(schema.options) });
    await schema.client.query("insert into users (id) values ($1)", [A]);
    await schema.client.query(
        "insert into belief_graphs (user_id, agent_name, subject, predicate, object) values ($1, 'a', 's', 'p', 'o')",
        [A],
    );
    // As a DBA sets it (superuser): every new session of the database, the deployer's and the agents'.
    await schema.client.query(`alter database ${schema.db.name} set deadlock_timeout = '6s'`);
});

afterAll(async () => {
    await schema?.drop();
});

/** The relation `applicationName`'s backend waits for a lock on, if it waits. */
async function waitingOn(client: Client, applicationName: string): Promise<string | undefined> {
    const { rows } = await client.query(
        `select c.relname from pg_stat_activity a join pg_locks l on l.pid = a.pid and not l.granted join pg_class c on c.oid = l.relation
         where a.datname = current_database() and a.application_name = $1`,
        [applicationName],
    );
    return rows[0]?.relname;
}

const after = (since: number, ms: number) => () => (Date.now() - since >= ms ? true : undefined);

describe("0011 on a release-2 stack, waiting on two application transactions in turn, and an agent that wrote a belief", () => {
    it("leaves the agent to wait and commit: it is never the deadlock victim", async () => {
        const [watcher, holdsExecutions, holdsLogs, agent, deployer] = await Promise.all([
            schema.db.connect(),
            schema.db.connect({ application_name: "a19-holds-executions" }),
            schema.db.connect({ application_name: "a19-holds-logs" }),
            schema.db.connect({ application_name: "a19-agent" }),
            schema.db.connect({ application_name: "a19-deployer" }),
        ]);
        let upgrade: Promise<unknown> = Promise.resolve();
        try {
            await holdsExecutions.query("begin; select count(*) from agent_executions");
            await holdsLogs.query("begin; select count(*) from memory_logs");
            upgrade = applyMigrations(deployer, migrationsFor(schema.options), {
                variant: describeVariant(schema.options),
                locks: { timeoutMs: 3_000, deadlineSeconds: 120 },
            });
            // 0011 holds sessions and waits for agent_executions.
            await until("0011 waiting for agent_executions", async () =>
                (await waitingOn(watcher, "a19-deployer")) === "agent_executions" ? true : undefined,
            );
            // The agent wrote a belief, and now reads sessions: it queues behind 0011.
            await agent.query("begin");
            await agent.query("update belief_graphs set confidence = 0.9 where user_id = $1", [A]);
            const read = agent.query("select count(*) from sessions").then(
                () => "read",
                (error: Error) => error.message,
            );
            await until("the agent queued on sessions", async () =>
                (await waitingOn(watcher, "a19-agent")) === "sessions" ? true : undefined,
            );
            const queued = Date.now();
            // Each application transaction ends within lock_timeout of 0011's wait for it: no retry, 0011 keeps its locks.
            await until("2 s after the agent queued", after(queued, 2_000), 5_000);
            await holdsExecutions.query("commit");
            await until("0011 waiting for memory_logs", async () =>
                (await waitingOn(watcher, "a19-deployer")) === "memory_logs" ? true : undefined,
            );
            await until("4.5 s after the agent queued", after(queued, 4_500), 10_000);
            await holdsLogs.query("commit");
            // 0011 takes memory_logs and goal_assessments, then waits for belief_graphs, which the agent holds: a cycle.

            expect(await read).toBe("read");
            await agent.query("commit");
            await upgrade;
        } catch (error) {
            await upgrade.catch(() => undefined);
            throw error;
        } finally {
            await Promise.all([watcher, holdsExecutions, holdsLogs, agent, deployer].map((client) => client.end().catch(() => undefined)));
        }
    }, 60_000);
});
