// A long report over an application's view of goal_assessments (its own reporting role, a plain `select` that runs for
// minutes, not idle in a transaction) holds ACCESS SHARE on the table while `memory-stack apply` upgrades the release
// before 0013: every lock-wait line and the final error name the report's backend, the deadline is honoured, the
// report is not cancelled, nothing of 0013 is applied, and once the report ends the next apply goes through.
import { afterAll, describe, expect, it } from "vitest";
import { cli } from "../support/cli";
import { dropRoles, sharedServer, type TestDatabase } from "../support/database";
import { releaseBeforeDerived } from "../support/managed-owner";
import { until } from "../support/poll";

const databases: TestDatabase[] = [];
const roles: string[] = [];

afterAll(async () => {
    await Promise.all(databases.map((db) => db.drop()));
    await dropRoles(sharedServer(), roles);
});

describe("a long select from an application's reporting view over goal_assessments", () => {
    it("makes the upgrade wait at most its deadline, naming the report, then fail with nothing of 0013 applied", async () => {
        const release = await releaseBeforeDerived("a18_report");
        const { db, asOwner } = release;
        const reporter = `${db.name}_reports`;
        databases.push(db);
        roles.push(...release.roles, reporter);
        await asOwner.query(`insert into users (email) values ('ada@example.com');
            insert into goal_assessments (user_id, agent_name, goal_text, goal_vector) select id, 'planner', 'ship it', '[0.1, 0.2]' from users;
            create view goal_report as select user_id, count(*) as goals from goal_assessments group by user_id;
            create role ${reporter} login password 'report-pw-123'; grant select on goal_report to ${reporter}`);
        const report = await db.connect({ user: reporter, password: "report-pw-123", application_name: "nightly-report" });
        const admin = await db.connect();
        const pid = (await report.query<{ pid: number }>("select pg_backend_pid() as pid")).rows[0].pid;
        const running = report.query("select goals, pg_sleep(8) from goal_report").then(
            () => "finished",
            (error: Error) => error.message,
        );
        await until(
            "the report running",
            async () =>
                (await admin.query("select 1 from pg_stat_activity where pid = $1 and state = 'active'", [pid])).rowCount! > 0 || undefined,
        );

        const upgrade = await cli(["apply", "--lock-deadline", "3"], release.owner.env);

        expect(upgrade.code, upgrade.stderr).toBe(1);
        const waits = upgrade.stderr.split("\n").filter((line) => line.startsWith("waiting for a lock"));
        expect(waits.length).toBeGreaterThan(0);
        for (const line of waits) expect(line).toContain(`on public.goal_assessments by pid ${pid} (nightly-report`);
        expect(upgrade.stderr).toContain("gave up waiting for locks after");
        expect(upgrade.stderr).toContain(`select pg_terminate_backend(${pid})`);
        const left = await admin.query(`select
            (select count(*)::int from memory_stack.migrations where name >= '0013') as ledger,
            (select count(*)::int from pg_attribute where attrelid = 'goal_assessments'::regclass and attname like 'goal_vector_%') as columns`);
        expect(left.rows[0]).toEqual({ ledger: 0, columns: 0 });
        expect(await running).toBe("finished");
        const again = await cli(["apply"], release.owner.env);
        expect(again.code, again.stderr).toBe(0);
        await Promise.all([report.end(), admin.end(), asOwner.end()]);
    });
});
