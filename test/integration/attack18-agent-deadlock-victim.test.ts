// BUG on e960336: an agent is aborted with "deadlock detected" by an upgrade instead of waiting for it.
//
// 0013 locks goal_assessments, then belief_graphs. An agent that wrote a belief and then updates a goal, in one
// transaction, queues behind 0013's lock on goal_assessments; once 0013 has that lock it waits for belief_graphs,
// which the agent holds: a cycle. PostgreSQL breaks it in the backend whose deadlock_timeout (1 s by default) runs
// out first, and the agent started waiting first. Only the migration's lock_timeout, ending its own wait before,
// spares the agent. With migration.lockTimeoutMs at or above the server's deadlock_timeout (the config allows
// 1–600000 ms; README says an application query then waits "about this long at most" behind a migration), or a
// server whose deadlock_timeout a DBA set below the default 500 ms, the agent is the one aborted. What a user
// loses: the agent's transaction — its belief and its goal — is rolled back with an error instead of waiting.
import type { Client } from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { startCli } from "../support/cli";
import { dropRoles, sharedServer, type TestDatabase } from "../support/database";
import { releaseWithAgents } from "../support/managed-owner";
import { until } from "../support/poll";

const databases: TestDatabase[] = [];
const roles: string[] = [];

afterAll(async () => {
    await Promise.all(databases.map((db) => db.drop()));
    await dropRoles(sharedServer(), roles);
});

/**
 * The agent's goal update, sent while 0013 waits for goal_assessments so that it queues behind it. 0013 waits one
 * lock_timeout at a time, with a growing pause between: an update sent in a pause just runs (CI: the agent was never
 * seen queued), so it is undone to a savepoint and sent again at the next wait. Resolves once it is queued, with the
 * update's outcome still to come (wrapped: a promise returned bare would be waited for).
 */
async function queuedBehind0013(
    agent: Client,
    waiting: (name: string) => () => Promise<true | undefined>,
    goal: string,
): Promise<{ update: Promise<string> }> {
    for (let attempt = 1; ; attempt++) {
        await until("0013 waiting for goal_assessments", waiting("memory-stack-cli-apply"), 30_000);
        await agent.query("savepoint before_goal");
        let ended: string | undefined;
        const update = agent.query("update goal_assessments set progress = 0.2 where id = $1", [goal]).then(
            () => (ended = "updated"),
            (error: Error) => (ended = error.message),
        );
        const queued = await until("the agent queued behind 0013, or its update done", async () =>
            (await waiting("agent-belief-then-goal")()) ? true : ended === undefined ? undefined : false,
        );
        if (queued || ended !== "updated" || attempt === 10) return { update };
        await agent.query("rollback to savepoint before_goal");
    }
}

const CASES = [
    // Holds on e960336: 500 ms ends the migration's wait long before the agent's 1 s.
    {
        name: "the default lock_timeout (500 ms) on a server with the default deadlock_timeout (1 s)",
        flags: [],
        deadlockTimeout: undefined,
        lowered: false,
    },
    {
        name: "--lock-timeout 3000 on a server with the default deadlock_timeout (1 s)",
        flags: ["--lock-timeout", "3000"],
        deadlockTimeout: undefined,
        lowered: true,
    },
    {
        name: "the default lock_timeout (500 ms) on a server whose deadlock_timeout is 200 ms",
        flags: [],
        deadlockTimeout: "200ms",
        lowered: true,
    },
];

describe.each(CASES)(
    "an agent writing a belief, then a goal, while 0013 takes its locks ($name)",
    ({ flags, deadlockTimeout, lowered }) => {
        it("waits for the migration and commits: it is never the deadlock victim", async () => {
            const release = await releaseWithAgents("a18_deadlock");
            const { db, asOwner } = release;
            const [user] = release.users;
            databases.push(db);
            roles.push(...release.roles);
            const admin = await db.connect();
            if (deadlockTimeout) {
                // As a DBA sets it for the server (superuser only): every new session of the database.
                await admin.query(`alter database ${db.name} set deadlock_timeout = '${deadlockTimeout}'`);
            }
            const agent = async (name: string): Promise<Client> => {
                const client = await release.agent(name);
                await client.query("begin");
                await client.query("select memory_stack.bind_user($1)", [user.id]);
                return client;
            };
            const waiting = (name: string) => async () =>
                (
                    await admin.query(
                        "select 1 from pg_stat_activity where datname = $1 and application_name = $2 and wait_event_type = 'Lock'",
                        [db.name, name],
                    )
                ).rowCount! > 0 || undefined;
            // One agent is updating a goal: 0013's lock on goal_assessments waits for it.
            const first = await agent("agent-goal");
            await first.query("update goal_assessments set progress = 0.1 where id = $1", [user.goals[1]]);
            // Another has written a belief (before the upgrade starts, so that only its next statement has to land
            // within 0013's lock_timeout on a loaded machine) and now updates a goal: it queues behind 0013.
            const second = await agent("agent-belief-then-goal");
            await second.query("update belief_graphs set confidence = 0.9 where id = $1", [user.beliefs[0]]);
            const upgrade = startCli(["apply", ...flags], release.owner.env);
            const { update: goal } = await queuedBehind0013(second, waiting, user.goals[2]);
            // The first commits: 0013 takes goal_assessments and then waits for belief_graphs, which the second holds.
            await first.query("commit");

            expect(await goal).toBe("updated");
            await second.query("commit");
            const ended = await upgrade.ended;
            expect(ended.code, ended.stderr).toBe(0);
            expect(/lock_timeout \d+ ms lowered to/.test(ended.stderr), ended.stderr).toBe(lowered);
            const stored = await asOwner.query("select confidence from belief_graphs where id = $1", [user.beliefs[0]]);
            expect(stored.rows[0].confidence).toBe(0.9);
            await Promise.all([first.end(), second.end(), admin.end(), asOwner.end()]);
        });
    },
);
