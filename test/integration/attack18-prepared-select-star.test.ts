// 0013 adds goal_vector_unit/_signs/_magnitudes to goal_assessments (and three to belief_graphs), tables the agents use, so
// their row type changes under the running agents. An agent that prepared `select * from goal_assessments …` (a named
// statement in node-postgres, pgjdbc after prepareThreshold executions, psycopg after prepare_threshold, PgBouncer's
// max_prepared_statements) gets "cached plan must not change result type" from PostgreSQL on every later execution of that
// statement on that connection, until it prepares again: PostgreSQL's rule for any added column. attack18 found that the
// upgrade said nothing of it. apply now names the tables and columns and says to recycle the pools (changed-columns.ts);
// a fresh connection works at once.
import { afterAll, describe, expect, it } from "vitest";
import { cli } from "../support/cli";
import { dropRoles, sharedServer, type TestDatabase } from "../support/database";
import { releaseWithAgents } from "../support/managed-owner";

const databases: TestDatabase[] = [];
const roles: string[] = [];

afterAll(async () => {
    await Promise.all(databases.map((db) => db.drop()));
    await dropRoles(sharedServer(), roles);
});

describe("an agent's prepared `select *` and `insert … returning *` on the memory tables, across the upgrade to 0013", () => {
    it("are named by the upgrade, which says to recycle the pools; a new connection works", async () => {
        const release = await releaseWithAgents("a18_prepared");
        const { db, asOwner } = release;
        const [user] = release.users;
        databases.push(db);
        roles.push(...release.roles);
        let agent = await release.agent("agent");
        const work = async () => {
            await agent.query("begin");
            await agent.query("select memory_stack.bind_user($1)", [user.id]);
            const outcome = await (async () => {
                await agent.query({ name: "read-goal", text: "select * from goal_assessments where id = $1", values: [user.goals[1]] });
                await agent.query({
                    name: "write-belief",
                    text: "insert into belief_graphs (user_id, agent_name, subject, predicate, object) values ($1, 'agent', 'a', 'b', 'c') returning *",
                    values: [user.id],
                });
                return "ok";
            })().catch((error: Error) => error.message);
            await agent.query(outcome === "ok" ? "commit" : "rollback");
            return outcome;
        };
        expect(await work()).toBe("ok");

        const upgrade = await cli(["apply", "--json"], release.owner.env);
        expect(upgrade.code, upgrade.stderr).toBe(0);
        expect(upgrade.stderr).toMatch(
            /0013_similarity_derived\.sql added columns to public\.belief_graphs \(belief_vector_magnitudes, belief_vector_signs, belief_vector_unit\), public\.goal_assessments \(goal_vector_magnitudes, goal_vector_signs, goal_vector_unit\): .*cached plan must not change result type.*recycle the application's connection pools/,
        );
        expect(JSON.parse(upgrade.stdout).changedColumns.map((entry: { table: string }) => entry.table)).toEqual([
            "public.belief_graphs",
            "public.goal_assessments",
        ]);

        // What the line warns of, on the agent's old connection; a new one (a recycled pool) works.
        expect(await work()).toMatch(/cached plan must not change result type/);
        await agent.end();
        agent = await release.agent("agent");
        expect(await work()).toBe("ok");
        await agent.end();
        await asOwner.end();
    });
});
