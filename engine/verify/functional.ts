// The seed's hand-run checks as code, all inside ONE transaction that the caller rolls back, so no
// row is left behind: a session is inserted and read back, get_active_session answers, every
// view answers (with the rows just written), the triggers fire, a foreign key refuses an orphan,
// and with RLS on two users cannot see each other's rows (rls.ts).
//
// now() is the transaction's start time and does not move inside it, so "updated_at moves" is
// proven by writing rows with an old updated_at and seeing the trigger set it to now(), and
// duration_ms by explicit started_at/completed_at values with a known difference.
import type { SqlClient } from "../db/client";
import { CheckFailed, CheckRunner, expect } from "./checks";
import type { Expectations } from "./expected";
import { checkDerivedEmbeddings } from "./derived";
import { checkRowLevelSecurity } from "./rls";
import { REPLICA_SESSIONS } from "./catalog";

/** The agent name of every row verification writes; nothing real uses it. */
export const VERIFY_AGENT = "memory-stack-verify";
const PAST = "2000-01-01T00:00:00Z";

/** The rows the fixture checks wrote, for the checks after them. */
export interface Fixture {
    /** Two users: A and B. */
    users: [string, string];
    /** A's older and newer active sessions, and B's session. */
    sessions: { older: string; newer: string; other: string; olderKey: string };
    /** Per memory table, the id of A's row and of B's row. */
    rows: Record<string, [string, string]>;
}

export async function runFunctionalChecks(
    client: SqlClient,
    expected: Expectations,
    broken: Set<string>,
    usersInsertable: boolean,
): Promise<CheckRunner> {
    const run = new CheckRunner(client, broken);
    const fixture = { rows: {} } as Fixture;
    const tables = (...names: string[]) => names.map((name) => `table ${name}`);

    await run.check("two test users exist", { needs: ["table users"], keep: true }, async () => {
        // Rows verification inserts vanish with the rollback; an application users table that needs
        // values we cannot invent (or a sequence, which a rollback does not rewind) lends two rows instead.
        // The insert fires the application's own triggers on users, written for the search_path it always has:
        // that one, for this statement only (verification's own names resolve in pg_catalog, index.ts). Should it
        // fail, the check's savepoint takes the path back with it.
        const insertUsers = async () => {
            await run.rows("reset search_path");
            const inserted = await run.rows<{ id: string }>(
                "insert into public.users (id) values (gen_random_uuid()), (gen_random_uuid()) returning id",
            );
            await run.rows("set local search_path = pg_catalog");
            return inserted;
        };
        const rows = usersInsertable
            ? await insertUsers()
            : await run.rows<{ id: string }>("select id from public.users order by id limit 2");
        expect(rows.length === 2, "users has required columns verification cannot fill and fewer than two rows to borrow; add a user");
        fixture.users = [rows[0].id, rows[1].id];
    });
    await run.check(
        "get_active_session returns null for a user with no session",
        { needs: ["check two test users exist", "function public.get_active_session", ...tables("sessions")] },
        async () => {
            const { id } = await run.row<{ id: string | null }>("select public.get_active_session($1::uuid, $2) as id", [
                fixture.users[0],
                VERIFY_AGENT,
            ]);
            expect(id === null, `returned ${id}`);
        },
    );

    await run.check(
        "a session can be inserted and selected back",
        { needs: ["check two test users exist", ...tables("sessions")], keep: true },
        async () => {
            const [userA, userB] = fixture.users;
            const inserted = await run.rows<{ id: string; session_id: string }>(
                `insert into public.sessions (session_id, user_id, agent_name, status, context, started_at, updated_at)
             select 'memory-stack-verify-' || gen_random_uuid(), u, $3, 'active', '{"verify": true}', s, $4::timestamptz
             from (values ($1::uuid, $4::timestamptz), ($1::uuid, $4::timestamptz + interval '1 day'), ($2::uuid, $4::timestamptz)) v (u, s)
             returning id, session_id`,
                [userA, userB, VERIFY_AGENT, PAST],
            );
            const read = await run.rows<{ id: string; agent_name: string; status: string; context: unknown }>(
                "select id, agent_name, status, context from public.sessions where id = any($1::uuid[]) order by id",
                [inserted.map((r) => r.id)],
            );
            expect(read.length === 3, `inserted 3 sessions, read back ${read.length}`);
            for (const row of read) {
                expect(
                    row.agent_name === VERIFY_AGENT && row.status === "active" && JSON.stringify(row.context) === '{"verify":true}',
                    `read back ${JSON.stringify(row)}, not what was inserted`,
                );
            }
            fixture.sessions = { older: inserted[0].id, newer: inserted[1].id, other: inserted[2].id, olderKey: inserted[0].session_id };
            fixture.rows.sessions = [inserted[0].id, inserted[2].id];
        },
    );
    const sessions = "check a session can be inserted and selected back";

    await run.check(
        "get_active_session returns the newest active session",
        { needs: [sessions, "function public.get_active_session"] },
        async () => {
            const { id } = await run.row<{ id: string | null }>("select public.get_active_session($1::uuid, $2) as id", [
                fixture.users[0],
                VERIFY_AGENT,
            ]);
            expect(
                id === fixture.sessions.newer,
                `returned ${id === null ? "null" : "another session"}, not the newer of two active sessions`,
            );
        },
    );

    await run.check(
        "close_session closes an active session once and refuses an unknown status",
        { needs: [sessions, "function public.close_session"] },
        async () => {
            const first = await run.row<{ closed: boolean }>("select public.close_session($1::uuid) as closed", [fixture.sessions.older]);
            const after = await run.row<{ status: string; ended: boolean }>(
                "select status, ended_at is not null as ended from public.sessions where id = $1",
                [fixture.sessions.older],
            );
            const second = await run.row<{ closed: boolean }>("select public.close_session($1::uuid) as closed", [fixture.sessions.older]);
            expect(
                first.closed && after.status === "completed" && after.ended,
                `first call returned ${first.closed}, session is ${after.status}`,
            );
            expect(second.closed === false, "closing a closed session returned true");
            await run.expectError(
                "select public.close_session($1::uuid, 'paused')",
                [fixture.sessions.newer],
                "22023",
                "close_session(id, 'paused')",
            );
        },
    );

    await run.check(
        "rows for both users can be written to every memory table",
        { needs: [sessions, ...tables(...expected.manifest.tables)], keep: true },
        async () => {
            // One row for A (n = 1) and one for B (n = 2) per table, mapped back by user_id.
            const insertBoth = async (table: string, columns: string, values: string, extra: unknown[] = []) => {
                const inserted = await run.rows<{ id: string; user_id: string }>(
                    `insert into public.${table} (user_id, agent_name, ${columns})
                 select u, '${VERIFY_AGENT}', ${values} from (values (1, $1::uuid), (2, $2::uuid)) v (n, u) returning id, user_id`,
                    [...fixture.users, ...extra],
                );
                const idOf = (user: string) => inserted.find((row) => row.user_id === user)?.id;
                fixture.rows[table] = [idOf(fixture.users[0])!, idOf(fixture.users[1])!];
            };
            await insertBoth(
                "agent_executions",
                "session_id, status, started_at",
                `case n when 1 then $3::uuid else $4::uuid end, 'running', '${PAST}'`,
                [fixture.sessions.older, fixture.sessions.other],
            );
            await insertBoth("memory_logs", "operation, success, latency_ms", "'write', true, 5");
            await insertBoth("goal_assessments", "goal_text, updated_at", `'verify', '${PAST}'`);
            await insertBoth("belief_graphs", "subject, predicate, object, updated_at", `'memory-stack', 'verifies', 'beliefs', '${PAST}'`);
            await insertBoth(
                "cognitive_metrics",
                "execution_id, metric_name, metric_value",
                "case n when 1 then $3::uuid else $4::uuid end, 'verify', 1",
                fixture.rows.agent_executions,
            );
            // audit_logs has no agent_name: actor carries it.
            const audit = await run.rows<{ id: string; user_id: string }>(
                `insert into public.audit_logs (user_id, actor, action) values ($1, '${VERIFY_AGENT}', 'verify'), ($2, '${VERIFY_AGENT}', 'verify')
             returning id, user_id`,
                fixture.users,
            );
            fixture.rows.audit_logs = fixture.users.map((user) => audit.find((row) => row.user_id === user)!.id) as [string, string];
        },
    );
    const rows = "check rows for both users can be written to every memory table";

    await run.check(
        "trigger calculate_agent_execution_duration computes duration_ms when an execution completes",
        { needs: [rows, "trigger agent_executions.calculate_agent_execution_duration"] },
        async () => {
            const { duration_ms: running } = await run.row<{ duration_ms: number | null }>(
                "select duration_ms from public.agent_executions where id = $1",
                [fixture.rows.agent_executions[0]],
            );
            const { duration_ms: done } = await run.row<{ duration_ms: number | null }>(
                `update public.agent_executions set status = 'completed', completed_at = started_at + interval '1.5 seconds'
                 where id = $1 returning duration_ms`,
                [fixture.rows.agent_executions[0]],
            );
            expect(running === null, `a running execution has duration_ms ${running}`);
            expect(done === 1500, `completed 1.5 s after it started, duration_ms is ${done}, not 1500`);
        },
    );

    const updatedAtTriggers = expected.manifest.triggers.filter(
        (t) => expected.fingerprints.triggers[t.name]?.function === "public.update_updated_at_column",
    );
    for (const { table, name } of updatedAtTriggers) {
        await run.check(`trigger ${name} moves updated_at on update`, { needs: [rows, `trigger ${table}.${name}`] }, async () => {
            const { moved } = await run.row<{ moved: boolean }>(
                `update public.${table} set agent_name = agent_name where id = $1 returning updated_at = now() and updated_at > $2::timestamptz as moved`,
                [fixture.rows[table][0], PAST],
            );
            expect(moved, `updated_at stayed at ${PAST} instead of moving to the update's time`);
        });
    }

    for (const view of expected.manifest.views) {
        await run.check(`view ${view} answers`, { needs: [rows, `view ${view}`] }, async () => {
            await run.rows(`select * from public.${view} limit 1`);
            await checkViewContent(run, view, fixture);
        });
    }

    await run.check(
        "foreign key sessions.user_id rejects a session of an unknown user",
        { needs: [...tables("sessions", "users"), `trigger ${REPLICA_SESSIONS}`] },
        async () => {
            await run.expectError(
                `insert into public.sessions (session_id, user_id, agent_name) values ('memory-stack-verify-orphan', gen_random_uuid(), $1)`,
                [VERIFY_AGENT],
                "23503",
                "inserting a session whose user does not exist",
            );
        },
    );

    await checkDerivedEmbeddings(run, expected);

    if (expected.rls) {
        await checkRowLevelSecurity(run, expected, fixture, rows);
    }
    return run;
}

// What each seed view must show for the rows just written; a view this list does not know only has to answer.
async function checkViewContent(run: CheckRunner, view: string, fixture: Fixture): Promise<void> {
    if (view === "user_session_stats") {
        // A borrowed user may have sessions of its own: the view must agree with the table.
        const stats = await run.row<{ shown: string; counted: string }>(
            `select s.total_sessions || '/' || s.active_sessions as shown, c.total || '/' || c.active as counted
             from public.user_session_stats s,
                  (select count(*) as total, count(*) filter (where status = 'active') as active from public.sessions where user_id = $1) c
             where s.user_id = $1`,
            [fixture.users[0]],
        );
        expect(stats.shown === stats.counted, `shows ${stats.shown} total/active sessions for a user with ${stats.counted}`);
    } else if (view === "recent_agent_activity") {
        const activity = await run.rows<{ session_key: string }>(
            "select session_key from public.recent_agent_activity where execution_id = $1",
            [fixture.rows.agent_executions[0]],
        );
        expect(
            activity.length === 1 && activity[0].session_key === fixture.sessions.olderKey,
            "does not show the execution with its session",
        );
    } else if (view === "memory_operation_summary") {
        // An application's own trigger may log verification's goal or belief writes too: the view must agree with the table.
        const summary = await run.rows<{ total: string; rate: number; counted: string; rated: number }>(
            `select s.total_operations::text as total, s.success_rate as rate, c.total::text as counted, c.rate as rated
             from public.memory_operation_summary s,
                  (select count(*) as total, (count(*) filter (where success))::double precision / count(*) as rate from public.memory_logs
                   where agent_name = $1 and operation = 'write' and (created_at at time zone 'UTC')::date = (now() at time zone 'UTC')::date) c
             where s.agent_name = $1 and s.operation = 'write' and s.operation_date = (now() at time zone 'UTC')::date`,
            [VERIFY_AGENT],
        );
        if (summary.length !== 1 || summary[0].total !== summary[0].counted || Number(summary[0].rate) !== Number(summary[0].rated)) {
            const counted = summary[0]?.counted ?? "the verification's";
            throw new CheckFailed(
                `shows ${JSON.stringify(summary.map(({ total, rate }) => ({ total, rate })))} for ${counted} writes in memory_logs`,
            );
        }
    }
}
