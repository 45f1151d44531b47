// The upgrade from the release before 0013 (derived embedding columns, then 0014's stepped backfill and the
// new match_*), run by `memory-stack apply` while agents write: application clients as the app role, each
// transaction bound to its user, and agents whose transaction writes a belief and then its goal (two memory
// tables in one transaction, the order an agent records what it learned). No agent may fail, every row the
// agents or the seed wrote must be derived and hold what was last written, and the ledger and the records
// must be those of a clean upgrade.
import { performance } from "node:perf_hooks";
import { Client } from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { cli } from "../support/cli";
import { startAppLoad, transactionLoop } from "../support/app-load";
import { dropRoles, sharedServer, type TestDatabase } from "../support/database";
import { releaseWithAgents } from "../support/managed-owner";
import { embedding, type SeededUser } from "../support/switch-data";

const databases: TestDatabase[] = [];
const roles: string[] = [];
const DIMENSIONS = 8;

afterAll(async () => {
    await Promise.all(databases.map((db) => db.drop()));
    await dropRoles(sharedServer(), roles);
});

/** Agents whose transaction updates a belief, then a goal of the same user; every error and the slowest statement kept. */
function crossTableAgents(connect: () => Promise<Client>, users: SeededUser[]) {
    const errors: string[] = [];
    const written = new Map<string, number[]>();
    let slowestMs = 0;
    let stopping = false;
    let n = 5_000_000;
    const timed = async (client: Client, text: string, values?: unknown[]) => {
        const started = performance.now();
        await client.query(text, values);
        slowestMs = Math.max(slowestMs, performance.now() - started);
    };
    const runs = users.map(async (user, index) => {
        const client = await connect();
        await transactionLoop(
            client,
            `cross-table agent ${index}`,
            errors,
            () => stopping,
            async (i) => {
                const goal = user.goals[1 + (i % (user.goals.length - 1))];
                const belief = user.beliefs[i % user.beliefs.length];
                const vector = embedding(n++, DIMENSIONS);
                await timed(client, "begin");
                await timed(client, "select memory_stack.bind_user($1)", [user.id]);
                await timed(client, "update belief_graphs set belief_vector = $2::jsonb, confidence = 0.5 where id = $1", [
                    belief,
                    JSON.stringify(vector),
                ]);
                await timed(client, "update goal_assessments set goal_vector = $2::jsonb, progress = 0.25 where id = $1", [
                    goal,
                    JSON.stringify(vector),
                ]);
                await timed(client, "commit");
                written.set(belief, vector);
                written.set(goal, vector);
            },
        );
        await client.end();
    });
    return {
        async stop() {
            stopping = true;
            await Promise.all(runs);
            return { errors, written, slowestMs };
        },
    };
}

describe("memory-stack apply upgrading the release before 0013 while agents write", () => {
    it("fails no agent, derives every row and keeps what the agents wrote last", async () => {
        const release = await releaseWithAgents("a18_upgrade_load", {
            users: 4,
            goalsPerUser: 250,
            beliefsPerUser: 150,
            dimensions: DIMENSIONS,
        });
        const { db, asOwner, users, agentConfig: config } = release;
        databases.push(db);
        roles.push(...release.roles);
        const connect = async () => {
            const client = new Client({ ...config, application_name: "agent" });
            client.on("error", () => undefined);
            await client.connect();
            return client;
        };
        const load = await startAppLoad({ config, users: users.slice(0, 2), dimensions: DIMENSIONS });
        const agents = crossTableAgents(connect, users.slice(2));
        await load.ran(3);

        const upgrade = await cli(["apply"], release.owner.env);
        await load.ran(load.progress() + 3);
        const report = await load.stop();
        const cross = await agents.stop();

        expect(upgrade.code, upgrade.stdout + upgrade.stderr).toBe(0);
        console.log(
            `${report.transactions} transactions; slowest statement ${Math.round(Math.max(report.maxLatencyMs, cross.slowestMs))} ms; ` +
                `${upgrade.stderr.split("\n").filter((line) => line.includes("waiting for a lock")).length} lock-wait lines`,
        );
        expect([...report.errors, ...cross.errors]).toEqual([]);
        const underived = await asOwner.query(`select
            (select count(*)::int from goal_assessments where goal_vector is not null and goal_vector_signs is null) as goals,
            (select count(*)::int from belief_graphs where belief_vector is not null and belief_vector_signs is null) as beliefs`);
        expect(underived.rows[0]).toEqual({ goals: 0, beliefs: 0 });
        const written = new Map([...report.written, ...cross.written]);
        const stored = await asOwner.query<{ id: string; vector: number[]; unit: number[] }>(
            `select id, array(select jsonb_array_elements_text(goal_vector)::float8) as vector, goal_vector_unit as unit
               from goal_assessments where id = any($1)
             union all
             select id, array(select jsonb_array_elements_text(belief_vector)::float8), belief_vector_unit
               from belief_graphs where id = any($1)`,
            [[...written.keys()]],
        );
        expect(stored.rowCount).toBe(written.size);
        for (const row of stored.rows) {
            expect(row.vector, row.id).toEqual(written.get(row.id));
            const norm = Math.hypot(...row.vector);
            expect(
                row.unit.map((x) => Math.round(x * 1e4)),
                row.id,
            ).toEqual(row.vector.map((x) => Math.round((x / norm) * 1e4)));
        }
        await asOwner.end();
    });
});
