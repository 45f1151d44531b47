// BUG on e960336: the deploying process stalls while a migration's transaction holds its table locks — a CI runner VM
// paused or preempted, a laptop put to sleep, a network partition that sends no RST (here: SIGSTOP to the CLI) — and
// the server keeps that transaction open, idle, holding ACCESS EXCLUSIVE on goal_assessments, until TCP keepalive gives
// up on the connection (about two hours with Linux defaults). No migration transaction bounds its own idle time
// (idle_in_transaction_session_timeout), so lock_timeout bounds how long the migration waits for the agents but
// nothing bounds how long the agents wait for it. What a user loses: every agent's read and write of its goals blocks
// for as long as the deployer is gone — the memory system is down, not slowed by one lock_timeout.
import { afterAll, describe, expect, it } from "vitest";
import { cli, startCli } from "../support/cli";
import { dropRoles, sharedServer, type TestDatabase } from "../support/database";
import { releaseWithAgents } from "../support/managed-owner";
import { until } from "../support/poll";

const databases: TestDatabase[] = [];
const roles: string[] = [];
/** How long the agent below gives its read: past the bound (IDLE_IN_TRANSACTION_MS, 30 s), far short of TCP keepalive. */
const AGENT_PATIENCE_MS = 45_000;

afterAll(async () => {
    await Promise.all(databases.map((db) => db.drop()));
    await dropRoles(sharedServer(), roles);
});

describe("the deploying process stalled while 0013 holds goal_assessments", () => {
    it("blocks the agents no longer than a bound of the migration's own", async () => {
        const release = await releaseWithAgents("a18_stalled");
        const { db, asOwner } = release;
        const [user] = release.users;
        databases.push(db);
        roles.push(...release.roles);
        const admin = await db.connect();
        // A report holds belief_graphs for a moment: 0013, holding goal_assessments, waits there — the deployer stalls then.
        const report = await db.connect({ application_name: "report" });
        await report.query("begin; select count(*) from belief_graphs");
        const upgrade = startCli(["apply"], release.owner.env);
        await until(
            "0013 holding goal_assessments and waiting for belief_graphs",
            async () =>
                (
                    await admin.query(
                        `select 1 from pg_locks l join pg_stat_activity a on a.pid = l.pid
                          where a.datname = $1 and a.application_name = 'memory-stack-cli-apply'
                            and l.relation = 'belief_graphs'::regclass and not l.granted`,
                        [db.name],
                    )
                ).rowCount! > 0 || undefined,
            30_000,
        );
        upgrade.child.kill("SIGSTOP");
        await report.query("commit");

        const agent = await release.agent("agent");
        await agent.query(`set statement_timeout = ${AGENT_PATIENCE_MS}`);
        const read = await agent.query("select count(*)::int as n from goal_assessments where user_id = $1", [user.id]).then(
            () => "read",
            (error: Error) => error.message,
        );
        const holding = await admin.query(
            "select state, wait_event_type from pg_stat_activity where datname = $1 and application_name = 'memory-stack-cli-apply'",
            [db.name],
        );
        // The deployer comes back: its session is gone, and it says so.
        upgrade.child.kill("SIGCONT");
        const ended = await upgrade.ended;

        expect({ read, holding: holding.rows }).toMatchObject({ read: "read" });
        expect(ended.code, ended.stderr).toBe(1);
        expect(ended.stderr).not.toMatch(/^\s+at /m);
        const again = await cli(["apply"], release.owner.env);
        expect(again.code, again.stderr).toBe(0);
        await Promise.all([agent.end(), admin.end(), report.end(), asOwner.end()]);
    }, 120_000);
});
