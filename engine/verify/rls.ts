// Row level security, proven the way the application meets it: as the app role, with user A bound
// to the transaction (memory_stack.bind_user, as an application does per transaction), A sees its
// own rows and none of B's in every memory table and view it may read, cannot write a row for B nor
// hang a row off B's session, and reads no audit row; the admin role sees both users' rows.
//
// The checks run in their savepoint, which is rolled back: `set local role` and the binding go with
// it. Nothing is granted, not even for that long: the roles are checked with the privileges they
// hold as deployed, and a role that lacks them (or that the verifying user cannot SET ROLE to) is
// reported by the catalog comparison (privileges.ts), which skips these checks.
import { quoteIdentifier } from "../migrate/render";
import { APP_VIEWS } from "../render/privileges";
import { describeError } from "../db/errors";
import { CheckFailed, CheckRunner, expect } from "./checks";
import type { Expectations } from "./expected";
import type { Fixture } from "./functional";

// A row of user $1 for each memory table, with what its columns require; agent or actor $2.
const FOREIGN_ROWS: Record<string, string> = {
    sessions: "(session_id, user_id, agent_name) values ('memory-stack-verify-foreign', $1, $2)",
    agent_executions: "(user_id, agent_name) values ($1, $2)",
    memory_logs: "(user_id, agent_name, operation) values ($1, $2, 'write')",
    goal_assessments: "(user_id, agent_name, goal_text) values ($1, $2, 'verify')",
    belief_graphs: "(user_id, agent_name, subject, predicate, object) values ($1, $2, 'memory-stack', 'verifies', 'beliefs')",
    cognitive_metrics: "(user_id, agent_name, metric_name, metric_value) values ($1, $2, 'verify', 1)",
    audit_logs: "(user_id, actor, action) values ($1, $2, 'verify')",
};

// The view that aggregates memory_logs over users: checked by its sums.
const SUMMARY_VIEW = "memory_operation_summary";

// The views that carry user_id and so must filter by it under security_invoker.
const USER_VIEWS = ["recent_agent_activity", "user_session_stats"];

export async function checkRowLevelSecurity(
    run: CheckRunner,
    expected: Expectations,
    fixture: Fixture,
    fixtureCheck: string,
): Promise<void> {
    const { manifest, appRole, adminRole } = expected;
    const policies = manifest.policies.map((p) => `policy ${p.table}.${p.name}`);
    const userTables = manifest.rlsTables.filter((table) => table !== "audit_logs");
    const appViews = manifest.views.filter((view) => USER_VIEWS.includes(view) && APP_VIEWS.includes(view));
    const needs = [
        fixtureCheck,
        ...policies,
        "function memory_stack.request_user_id",
        "function memory_stack.bind_user",
        ...manifest.views.filter((view) => USER_VIEWS.includes(view)).map((view) => `view ${view}`),
    ];
    const as = (role: string) => [...needs, `role ${role}`, `privileges ${role}`];

    // Only where the stack created auth.uid() (Supabase's own is left alone): 0011 gives it request_user_id's body, so
    // that the application's own policies calling it honour a bound id only. memory_stack.owned_objects says whose it is.
    await run.check(
        "auth.uid(), where the stack created it, reads the user as memory_stack.request_user_id() does",
        { needs: ["function memory_stack.request_user_id", "function auth.uid"] },
        async () => {
            const ours = await run.attempt<{ same: boolean }>(
                `select coalesce((select prosrc from pg_proc where oid = to_regprocedure('auth.uid()'))
                                 = (select prosrc from pg_proc where oid = to_regprocedure('memory_stack.request_user_id()')), false) as same
                 from memory_stack.owned_objects where kind = 'function' and name = 'auth.uid'`,
            );
            expect(
                (ours.rows ?? []).every((row) => row.same),
                "its body is no longer request_user_id's, so an application policy calling auth.uid() may honour a user id that another " +
                    "client left at session level on a pooled connection: give it that body again (create or replace function auth.uid() " +
                    "returns uuid language sql stable set search_path = '' as <memory_stack.request_user_id()'s body>, as 0011_claim_binding.sql does)",
            );
        },
    );

    await run.check(`row level security: as ${appRole}, a user sees and writes only its own rows`, { needs: as(appRole) }, async () => {
        await assumeRole(run, appRole, fixture.users[0]);
        for (const { relation, own, other } of await countVisible(run, [...userTables, ...appViews], fixture.users)) {
            expect(other === 0, `${relation}: ${other} row(s) of another user visible`);
            expect(own > 0, `${relation}: the user's own row is not visible (is memory_stack.request_user_id() reading the binding?)`);
        }
        // It has no user_id to count by: its sum over the two users' verification rows must be what A sees of them in
        // memory_logs itself (one, or more where an application's trigger logs verification's writes too), proven above
        // to be A's alone. A view that fails to answer is the catalog's to report.
        if (manifest.views.includes(SUMMARY_VIEW) && APP_VIEWS.includes(SUMMARY_VIEW)) {
            const summary = await run.attempt<{ n: number; own: number }>(
                `select coalesce(sum(total_operations), 0)::int as n,
                        (select count(*)::int from public.memory_logs where agent_name = 'memory-stack-verify') as own
                 from public.${SUMMARY_VIEW} where agent_name = 'memory-stack-verify'`,
            );
            const { n, own } = summary.rows?.[0] ?? {};
            expect(
                summary.rows === undefined || n === own,
                `${SUMMARY_VIEW}: counts ${n} verification writes where the user made ${own}: it shows other users' operations to ${appRole}`,
            );
        }
        const audit = await run.attempt("select count(*)::int as n from public.audit_logs");
        expect(
            audit.code === "42501" || audit.rows?.[0]?.n === 0,
            `audit_logs: ${audit.rows?.[0]?.n} audit row(s) visible to ${appRole}; only ${adminRole} may read them`,
        );
        // Every table's with check, not only sessions': a policy that lets a row for B in is a write into B's memory.
        for (const table of manifest.rlsTables) {
            await expectNoRowForOther(
                run,
                table,
                fixture.users[1],
                `${table}: inserting a row for another user (does the with check of every policy on ${table} for ${appRole} still ask for the user's own id?)`,
            );
        }
        await run.expectError(
            "insert into public.agent_executions (session_id, user_id, agent_name) values ($1, $2, 'memory-stack-verify')",
            [fixture.sessions.other, fixture.users[0]],
            "42501",
            "attaching an execution to another user's session",
        );
    });

    await run.check(`row level security: ${adminRole} sees every user's rows`, { needs: as(adminRole) }, async () => {
        await assumeRole(run, adminRole, fixture.users[0]);
        for (const { relation, own, other } of await countVisible(run, manifest.rlsTables, fixture.users)) {
            expect(own > 0 && other > 0, `${relation}: ${adminRole} sees ${own} of user A's and ${other} of user B's rows`);
        }
    });
}

/**
 * An insert of a row for user B is refused (42501), or lands as a row the bound user sees: an application's own
 * trigger that sets user_id to the bound user turns it into the user's own row, which is no way into B's memory.
 */
async function expectNoRowForOther(run: CheckRunner, table: string, other: string, what: string): Promise<void> {
    const visible = async () => (await run.attempt<{ n: number }>(`select count(*)::int as n from public.${table}`)).rows?.[0]?.n;
    await run.rows("savepoint memory_stack_verify_other");
    let written: number | undefined;
    try {
        await run.rows(`insert into public.${table} ${FOREIGN_ROWS[table]}`, [other, "memory-stack-verify"]);
        written = await visible();
    } catch (error) {
        if ((error as { code?: string }).code !== "42501") {
            throw new CheckFailed(`${what}: expected SQLSTATE 42501, got ${describeError(error)}`);
        }
        return;
    } finally {
        await run.rows("rollback to savepoint memory_stack_verify_other");
    }
    const before = await visible();
    expect(written !== undefined && before !== undefined && written === before + 1, `${what}: it succeeded`);
}

async function assumeRole(run: CheckRunner, role: string, user: string): Promise<void> {
    await run.rows(`set local role ${quoteIdentifier(role)}`);
    await run.rows("select memory_stack.bind_user($1)", [user]);
}

/** Per relation, how many of user A's and user B's rows the current role sees. */
async function countVisible(
    run: CheckRunner,
    relations: string[],
    [userA, userB]: [string, string],
): Promise<{ relation: string; own: number; other: number }[]> {
    const sql = relations
        .map(
            (relation) =>
                `select '${relation}' as relation, count(*) filter (where user_id = $1)::int as own, count(*) filter (where user_id = $2)::int as other from public.${relation}`,
        )
        .join("\nunion all\n");
    return run.rows(sql, [userA, userB]);
}
