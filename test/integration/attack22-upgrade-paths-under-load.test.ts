// attack22: `memory-stack apply` from each release since 0011 to now while agents write: agents whose transactions span
// one to five memory tables (sessions, agent_executions, memory_logs, goal_assessments, belief_graphs), an agent on
// named (prepared) statements that name their columns, and a report that holds its read locks about a second. The
// operator asks for a 3 s lock_timeout; the run lowers it below deadlock_timeout. No agent transaction may fail, and every
// embedding an agent wrote must hold what it wrote last.
// The agents take the tables in one global order. Agents that take two tables in both orders can keep a migration that
// locks both from ever finishing (docs/migrating-under-load.md): from the release before 0011 (0011 locks five memory
// tables in one transaction) it gave up at its 300 s deadline. Nor does the release before 0011 start here: its agents
// bind with a plain claim, which 0011 stops trusting, so a transaction that spans 0011's commit fails its next write.
import { performance } from "node:perf_hooks";
import { Client } from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { cli } from "../support/cli";
import { transactionLoop } from "../support/app-load";
import { applyMigrations, migrationsFor } from "../support/apply-sql";
import { dropRoles, freshDatabase, sharedServer, type TestDatabase } from "../support/database";
import { managedOwner } from "../support/managed-owner";
import { until } from "../support/poll";
import { grantStackPrivileges } from "../support/schema-db";
import { embedding, seedEmbeddings, type SeededUser } from "../support/switch-data";

const databases: TestDatabase[] = [];
const roles: string[] = [];
const DIMENSIONS = 8;
const AGENT_PASSWORD = "agent-pw-123";

afterAll(async () => {
    await Promise.all(databases.map((db) => db.drop()));
    await dropRoles(sharedServer(), roles);
});

type Table = "sessions" | "agent_executions" | "memory_logs" | "goal_assessments" | "belief_graphs";

interface Agent {
    user: SeededUser;
    session: string;
    execution: string;
}

/** The migrations before `before` applied by a managed owner, users seeded with a session and an execution each. */
async function releaseBefore(before: string, users: number) {
    const db = await freshDatabase(`a22_${before}`);
    databases.push(db);
    const owner = await managedOwner(db);
    const options = { appRole: `${db.name}_app`, adminRole: `${db.name}_admin`, vectorDimensions: 1536 };
    roles.push(options.appRole, options.adminRole, owner.name);
    const asOwner = await owner.connect();
    await applyMigrations(
        asOwner,
        migrationsFor(options).filter((migration) => migration.name < before),
        options,
    );
    const seeded = await seedEmbeddings(asOwner, { users, goalsPerUser: 120, beliefsPerUser: 80, dimensions: DIMENSIONS });
    await grantStackPrivileges(asOwner, options);
    await asOwner.query(`alter role ${options.appRole} login password '${AGENT_PASSWORD}'`);
    const agents: Agent[] = [];
    for (const user of seeded) {
        const session = await asOwner.query<{ id: string }>(
            "insert into sessions (session_id, user_id, agent_name) values ($1, $2, 'agent') returning id",
            [`s-${user.id}`, user.id],
        );
        const execution = await asOwner.query<{ id: string }>(
            "insert into agent_executions (session_id, user_id, agent_name) values ($1, $2, 'agent') returning id",
            [session.rows[0].id, user.id],
        );
        agents.push({ user, session: session.rows[0].id, execution: execution.rows[0].id });
    }
    const connect = async (name: string) => {
        const client = new Client({ ...db.config, user: options.appRole, password: AGENT_PASSWORD, application_name: name });
        client.on("error", () => undefined);
        await client.connect();
        return client;
    };
    return { db, owner, asOwner, agents, connect };
}

/** Agents that loop over `transaction` until stopped; each transaction is timed and counted. */
function agentPool(connect: (name: string) => Promise<Client>) {
    const errors: string[] = [];
    const written = new Map<string, number[]>();
    const counts: number[] = [];
    const runs: Promise<void>[] = [];
    let stopping = false;
    let slowestMs = 0;
    let n = 7_000_000;
    const query = async (client: Client, config: string | { name: string; text: string; values: unknown[] }, values?: unknown[]) => {
        const started = performance.now();
        const result = await (typeof config === "string" ? client.query(config, values) : client.query(config));
        if (config !== "select pg_sleep($1)") slowestMs = Math.max(slowestMs, performance.now() - started);
        return result;
    };
    const add = (label: string, agent: Agent, body: (client: Client, i: number, vector: () => number[]) => Promise<void>) => {
        const index = counts.push(0) - 1;
        runs.push(
            (async () => {
                const client = await connect(label).catch((error: Error) => {
                    errors.push(`${label}: ${error.message}`);
                    throw error;
                });
                await transactionLoop(
                    client,
                    label,
                    errors,
                    () => stopping,
                    async (i) => {
                        await query(client, "begin");
                        await query(client, "select memory_stack.bind_user($1)", [agent.user.id]);
                        await body(client, i, () => embedding(n++, DIMENSIONS));
                        await query(client, "commit");
                        counts[index]++;
                    },
                );
                await client.end();
            })(),
        );
    };
    /** One transaction writing `tables` in this order. */
    const spanning = (label: string, agent: Agent, tables: Table[]) =>
        add(label, agent, async (client, i) => {
            const pending = new Map<string, number[]>();
            for (const table of tables) {
                const vector = embedding(n++, DIMENSIONS);
                switch (table) {
                    case "sessions":
                        await query(client, "update sessions set context = $2::jsonb, updated_at = now() where id = $1", [
                            agent.session,
                            JSON.stringify({ i }),
                        ]);
                        break;
                    case "agent_executions":
                        await query(client, "update agent_executions set tokens_input = $2 where id = $1", [agent.execution, i]);
                        break;
                    case "memory_logs":
                        await query(
                            client,
                            "insert into memory_logs (session_id, user_id, agent_name, operation, memory_key) values ($1, $2, 'agent', 'write', $3)",
                            [agent.session, agent.user.id, `k${i}`],
                        );
                        break;
                    case "goal_assessments": {
                        const goal = agent.user.goals[1 + (i % (agent.user.goals.length - 1))];
                        await query(client, "update goal_assessments set goal_vector = $2::jsonb, progress = 0.25 where id = $1", [
                            goal,
                            JSON.stringify(vector),
                        ]);
                        pending.set(goal, vector);
                        break;
                    }
                    case "belief_graphs": {
                        const belief = agent.user.beliefs[i % agent.user.beliefs.length];
                        await query(client, "update belief_graphs set belief_vector = $2::jsonb, confidence = 0.5 where id = $1", [
                            belief,
                            JSON.stringify(vector),
                        ]);
                        pending.set(belief, vector);
                        break;
                    }
                }
            }
            // Recorded before the commit returns; a failed commit is an error the test reports anyway.
            for (const [id, vector] of pending) written.set(id, vector);
        });
    /** Named statements, prepared once per connection and executed across the upgrade; each names its columns. */
    const prepared = (label: string, agent: Agent) =>
        add(label, agent, async (client, i, vector) => {
            const goal = agent.user.goals[1 + ((i * 7) % (agent.user.goals.length - 1))];
            const belief = agent.user.beliefs[(i * 3) % agent.user.beliefs.length];
            const v1 = vector();
            const v2 = vector();
            await query(client, {
                name: "a22-belief",
                text: "update belief_graphs set belief_vector = $2::jsonb where id = $1",
                values: [belief, JSON.stringify(v2)],
            });
            await query(client, {
                name: "a22-goal",
                text: "update goal_assessments set goal_vector = $2::jsonb, progress = 0.75 where id = $1 returning id, progress",
                values: [goal, JSON.stringify(v1)],
            });
            await query(client, {
                name: "a22-log",
                text: "insert into memory_logs (session_id, user_id, agent_name, operation, memory_key) values ($1, $2, 'prepared', 'read', $3) returning id",
                values: [agent.session, agent.user.id, `p${i}`],
            });
            await query(client, {
                name: "a22-read",
                text: "select id, goal_text, progress from goal_assessments where user_id = $1 order by id limit 5",
                values: [agent.user.id],
            });
            written.set(goal, v1);
            written.set(belief, v2);
        });
    /** A report (the app role may not read the admin's views: what they join) in one transaction that stays open about `holdMs`. */
    const reporter = (label: string, agent: Agent, holdMs: number) =>
        add(label, agent, async (client) => {
            await query(client, "select count(*) from agent_executions e left join sessions s on s.id = e.session_id");
            await query(client, "select operation, count(*) from memory_logs group by operation");
            await query(client, "select pg_sleep($1)", [holdMs / 1000]);
            await query(client, "select count(*) from goal_assessments g join belief_graphs b using (user_id)");
        });
    return {
        spanning,
        prepared,
        reporter,
        progress: () => Math.min(...counts),
        ran: (transactions: number) =>
            until(
                `every agent to finish ${transactions} transactions (${errors.slice(0, 3).join("; ")}) ${counts.join(",")}`,
                () => (counts.every((c) => c >= transactions) ? true : undefined),
                120_000,
            ),
        async stop() {
            stopping = true;
            await Promise.all(runs);
            return { errors, written, slowestMs, transactions: counts.reduce((a, b) => a + b, 0) };
        },
    };
}

const SPANS: Table[][] = [
    ["belief_graphs", "goal_assessments"],
    ["goal_assessments", "belief_graphs", "memory_logs"],
    ["memory_logs", "sessions", "agent_executions", "belief_graphs"],
    ["agent_executions", "goal_assessments", "sessions", "belief_graphs", "memory_logs"],
    ["sessions", "memory_logs", "goal_assessments"],
    ["belief_graphs"],
    ["goal_assessments"],
];

// Every span in one global order (beliefs, goals, logs, executions, sessions): no two agents take two tables in opposite orders.
const RANK: Table[] = ["belief_graphs", "goal_assessments", "memory_logs", "agent_executions", "sessions"];
const CONSISTENT = SPANS.map((tables) => [...tables].sort((a, b) => RANK.indexOf(a) - RANK.indexOf(b)));

describe.each(["0012", "0013", "0014"])("memory-stack apply from the release before %s while agents write", (before) => {
    it("fails no agent and keeps what each agent wrote last", async () => {
        const { owner, asOwner, agents, connect } = await releaseBefore(before, CONSISTENT.length + 2);
        const pool = agentPool(connect);
        CONSISTENT.forEach((tables, index) => pool.spanning(`agent ${tables.join(">")}`, agents[index], tables));
        pool.prepared("prepared agent", agents[CONSISTENT.length]);
        pool.reporter("reporter", agents[CONSISTENT.length + 1], 1000);
        await pool.ran(2);

        const started = performance.now();
        const upgrade = await cli(["apply", "--lock-timeout", "3000"], owner.env);
        const applyMs = performance.now() - started;
        await pool.ran(pool.progress() + 2);
        const report = await pool.stop();

        const waits = upgrade.stderr.split("\n").filter((line) => line.includes("waiting for a lock"));
        console.log(
            `from before ${before}: apply ${Math.round(applyMs)} ms, ${waits.length} lock-wait lines, ${report.transactions} transactions, ` +
                `slowest statement ${Math.round(report.slowestMs)} ms, ${report.errors.length} errors\n${waits.join("\n")}\n${report.errors.slice(0, 10).join("\n")}`,
        );
        expect(upgrade.code, upgrade.stdout + upgrade.stderr).toBe(0);
        expect(report.errors).toEqual([]);
        const stored = await asOwner.query<{ id: string; vector: number[] }>(
            `select id, array(select jsonb_array_elements_text(goal_vector)::float8) as vector from goal_assessments where id = any($1)
             union all
             select id, array(select jsonb_array_elements_text(belief_vector)::float8) from belief_graphs where id = any($1)`,
            [[...report.written.keys()]],
        );
        expect(stored.rowCount).toBe(report.written.size);
        for (const row of stored.rows) expect(row.vector, row.id).toEqual(report.written.get(row.id));
        await asOwner.end();
    }, 180_000);
});
