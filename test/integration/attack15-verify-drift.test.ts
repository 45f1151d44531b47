// attack15: can `memory-stack verify` (and the verification resource) say "ok" about a schema that was
// changed by hand into something of the same name and another shape, and can it fail a correct one?
//
// One applied and granted database for the whole file (test/support/verify-with.ts): each case's change runs
// inside the transaction verification itself rolls back, so every case meets the schema as applied.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { describeProblem, verifySchema, type VerificationReport } from "../../engine/verify/index";
import { expectationsFor } from "../../engine/verify/expected";
import { migrationsFor } from "../support/apply-sql";
import type { SchemaDatabase } from "../support/schema-db";
import { verifiedSchema, type VerifiedSchema } from "../support/verify-with";

let schema: SchemaDatabase;
let verifyWith: VerifiedSchema["verifyWith"];
beforeAll(async () => {
    ({ schema, verifyWith } = await verifiedSchema("a15_verify"));
});
afterAll(async () => {
    await schema?.drop();
});

function lines(report: VerificationReport): string {
    return report.problems.map(describeProblem).join("\n");
}

const MEMORY_OPERATION_SUMMARY_AS_OWNER = `create or replace view public.memory_operation_summary with (security_invoker = false) as
    select m.agent_name, m.operation, (m.created_at at time zone 'UTC')::date as operation_date, count(*) as total_operations,
           count(*) filter (where m.success) as successful_operations,
           (count(*) filter (where m.success))::double precision / count(*) as success_rate,
           avg(m.latency_ms)::double precision as avg_latency_ms
    from public.memory_logs m group by 1, 2, 3`;

// Holes: each change leaves verification saying ok (before the fix), and each costs a user something.
const holes: { what: string; sql: string; loses: string; reported: RegExp }[] = [
    {
        what: "memory_operation_summary recreated without security_invoker",
        sql: MEMORY_OPERATION_SUMMARY_AS_OWNER,
        // The app role may select the view (APP_VIEWS): it now reads memory_logs as the owner.
        loses: "every tenant's agent names, operation counts, success rates and latencies are shown to every other tenant",
        reported: /view memory_operation_summary: .*security_invoker/,
    },
    {
        what: "memory_operation_summary recreated, security_invoker still on, over a security definer function",
        sql:
            "create function public.all_memory_logs() returns setof public.memory_logs language sql security definer " +
            "set search_path = '' as 'select * from public.memory_logs'; " +
            MEMORY_OPERATION_SUMMARY_AS_OWNER.replace("security_invoker = false", "security_invoker = true").replace(
                "from public.memory_logs m",
                "from public.all_memory_logs() m",
            ),
        // The view's option is right; what it reads is not. Only what the app role sees through it can tell.
        loses: "the same cross-tenant aggregates, with the view's option looking right",
        reported: /check failed: row level security: as .*memory_operation_summary/,
    },
    {
        what: "the stack's auth.uid() replaced by the plain PostgREST claim reader",
        sql:
            "create or replace function auth.uid() returns uuid language sql stable set search_path = '' as " +
            "$$ select nullif(current_setting('request.jwt.claim.sub', true), '')::uuid $$",
        // auth.uid() is checked for existence only (it is created in a do block, where none existed). 0011 gives the
        // stack's one request_user_id's body so that the application's own policies calling auth.uid() fail closed too.
        loses: "an application policy on auth.uid() honours a user id that another client left at session level on the pooled connection",
        reported: /auth\.uid\(\)/,
    },
    {
        what: "goal_assessments_own_rows altered to `with check (true)`",
        sql: "alter policy goal_assessments_own_rows on goal_assessments with check (true)",
        loses: "the app role (one bug away) writes goals into another user's memory, or moves a user's goal to another user",
        reported: /check failed: row level security: as .*goal_assessments/,
    },
    {
        what: "an extra permissive `for delete using (true)` policy for the app role",
        sql: "create policy cleanup on memory_logs for delete to {app} using (true)",
        // Permissive policies add up; a `delete from memory_logs` without a where clause then deletes every user's logs.
        loses: "a careless `delete from memory_logs` (meant as 'my logs') deletes every user's logs",
        reported: /policy memory_logs\.cleanup: /,
    },
    {
        what: "an extra permissive `for update using (true)` policy for the app role",
        sql: "create policy fix_confidence on belief_graphs for update to {app} using (true) with check (true)",
        loses: "`update belief_graphs set confidence = 0` (no where) rewrites every user's beliefs",
        reported: /policy belief_graphs\.fix_confidence: /,
    },
    {
        what: "the derived-columns trigger set to fire for replication only",
        sql: "alter table goal_assessments enable replica trigger update_goal_vector_derived",
        // tgenabled 'R' is not 'D', so the catalog called it enabled; no behaviour check writes an embedding.
        loses: "new goals get no derived copy and match_goals never finds them; changed embeddings are searched by their old values",
        reported: /trigger goal_assessments\.update_goal_vector_derived: .*replica/,
    },
    {
        what: "the derived-columns trigger recreated with `when (false)`",
        sql:
            "create or replace trigger update_goal_vector_derived before insert or update on goal_assessments " +
            "for each row when (false) execute function public.derive_embedding_columns()",
        loses: "the same: match_goals silently misses every goal written from now on",
        reported: /trigger goal_assessments\.update_goal_vector_derived: .*when/,
    },
    {
        what: "the derived-columns trigger recreated for updates of another column only",
        sql:
            "create or replace trigger update_belief_vector_derived before insert or update of agent_name on belief_graphs " +
            "for each row execute function public.derive_embedding_columns()",
        loses: "a belief whose embedding is updated keeps the old derived copy: match_beliefs ranks it by its old embedding",
        reported: /trigger belief_graphs\.update_belief_vector_derived: .*column/,
    },
    {
        // A replica session (logical replication's apply) fires it since 0018 (enable always); a restore with triggers disabled does not.
        what: "goals written with the derivation trigger disabled (a restore with --disable-triggers)",
        sql:
            "alter table goal_assessments disable trigger update_goal_vector_derived; " +
            "insert into users (id) values ('00000000-0000-4000-8000-0000000a1501'); " +
            "insert into goal_assessments (user_id, agent_name, goal_text, goal_vector) " +
            "values ('00000000-0000-4000-8000-0000000a1501', 'replicated', 'replicated goal', '[1, 0, 0]'); " +
            "alter table goal_assessments enable always trigger update_goal_vector_derived",
        loses: "those goals are invisible to match_goals, exact => true included, with no error anywhere",
        reported: /goal_assessments.*1 row\(s\).*goal_vector.*derived/,
    },
    {
        what: "sessions.context changed from jsonb to json",
        sql: "alter table sessions alter column context type json",
        // Columns are compared by name only; the behaviour checks read the json back as the same object.
        loses: "the application's `context @> '{...}'` and `context ? 'key'` queries fail: json has no such operators",
        reported: /column sessions\.context: .*json/,
    },
    {
        what: "write access to the stack's bookkeeping tables granted to PUBLIC",
        sql: "grant insert, update, delete on all tables in schema memory_stack to public",
        // The app role has USAGE on memory_stack (bind_user lives there), so it can now write memory_stack.created_objects:
        // a row naming an application table (identity only, as rows from before oids were recorded) makes `pulumi destroy`
        // drop that table as the stack's; a row in memory_stack.migrations makes the next apply skip a migration.
        loses: "the app role can make the next rollback drop an application table, or the next apply skip a migration",
        reported: /privilege .*INSERT on memory_stack\.created_objects/,
    },
    {
        what: "memory_stack.request_user_id() marked immutable",
        sql: "alter function memory_stack.request_user_id() immutable",
        // Same body, same security: only the volatility differs, which the catalog did not compare. An immutable call
        // is folded into the plan, and a cached plan (a prepared statement: generic after five executions, or across
        // clients behind a pooler that keeps prepared statements) then keeps the user of the transaction that planned it.
        // The test below shows it.
        loses: "every later transaction on the connection sees the rows of whichever user the statement was planned for",
        reported: /function memory_stack\.request_user_id\(\): is immutable/,
    },
    {
        what: "the foreign key goal_assessments.user_id → users dropped",
        sql: "alter table goal_assessments drop constraint goal_assessments_user_id_fkey",
        // Verification proves one foreign key (sessions.user_id) by behaviour, and none by the catalog.
        loses: "forget_user (GDPR erasure) and deleting a user leave that user's goals behind, embeddings included",
        reported: /constraint goal_assessments\.user_id → users: missing/,
    },
    {
        what: "the foreign key agent_executions.session_id recreated without on delete cascade",
        sql:
            "alter table agent_executions drop constraint agent_executions_session_id_fkey; " +
            "alter table agent_executions add constraint agent_executions_session_id_fkey foreign key (session_id) references sessions (id)",
        loses: "deleting a session (or its user) now fails while it has executions, instead of removing them",
        reported: /constraint agent_executions\.session_id → sessions: .*no action.*cascade/,
    },
    {
        what: "the check sessions_status_check dropped",
        sql: "alter table sessions drop constraint sessions_status_check",
        loses: "a session with status 'paused' is accepted, which get_active_session, close_session and user_session_stats never count",
        reported: /constraint sessions\.sessions_status_check: missing/,
    },
];

describe.each(holes)("a schema with $what", ({ sql, reported }) => {
    it("fails verification, naming the object and what to do", async () => {
        const report = await verifyWith(sql);

        expect(report.ok).toBe(false);
        expect(lines(report)).toMatch(reported);
    });
});

it("(why request_user_id must stay stable) marked immutable, a prepared statement serves user A's rows to B and to no one", async () => {
    const [userA, userB] = ["00000000-0000-4000-8000-0000000a150a", "00000000-0000-4000-8000-0000000a150b"];
    await schema.client.query(`alter role "${schema.options.appRole}" login password 'attack15'`);
    const app = await schema.db.connect({ user: schema.options.appRole, password: "attack15", application_name: "a15-prepared" });
    await schema.client.query("begin");
    try {
        await schema.client.query(
            `insert into users (id) values ($1), ($2);
             insert into goal_assessments (user_id, agent_name, goal_text) values ($1, 'a15', 'goal of A'), ($2, 'a15', 'goal of B')`
                .replace(/\$1/g, `'${userA}'`)
                .replace(/\$2/g, `'${userB}'`),
        );
        await schema.client.query("alter function memory_stack.request_user_id() immutable");
        await schema.client.query("commit");
        await app.query("set plan_cache_mode = force_generic_plan");
        const seen: string[][] = [];
        for (const user of [userA, userB, null]) {
            await app.query("begin");
            if (user) await app.query("select memory_stack.bind_user($1)", [user]);
            const { rows } = await app.query<{ goal_text: string }>({
                name: "goals",
                text: "select goal_text from goal_assessments where agent_name = $1",
                values: ["a15"],
            });
            seen.push(rows.map((row) => row.goal_text));
            await app.query("commit");
        }

        expect(seen).toEqual([["goal of A"], ["goal of A"], ["goal of A"]]);
    } finally {
        await schema.client.query("rollback").catch(() => undefined);
        await app.end();
        await schema.client.query(
            `alter function memory_stack.request_user_id() stable; delete from goal_assessments where agent_name = 'a15';
             delete from users where id in ('${userA}', '${userB}'); alter role "${schema.options.appRole}" nologin password null`,
        );
    }
});

// Held before this round: each line a change that verification already reports.
const held: { what: string; sql: string; reported: RegExp }[] = [
    {
        what: "user_session_stats without security_invoker",
        sql: "alter view public.user_session_stats reset (security_invoker)",
        // Reported by the catalog since attack15 (before: by the app role's row count, which then does not run).
        reported: /view user_session_stats: reads its tables as its owner|user_session_stats: 1 row\(s\) of another user visible/,
    },
    {
        what: "sessions_own_rows turned `using (true)`",
        sql: "alter policy sessions_own_rows on sessions using (true)",
        reported: /sessions: 1 row\(s\) of another user visible/,
    },
    {
        what: "get_active_session made security definer",
        sql: "alter function public.get_active_session(uuid, text) security definer",
        reported: /function public\.get_active_session\(user_id uuid, agent_name text\): is security definer/,
    },
    {
        what: "the partial index behind get_active_session replaced by one of another shape",
        sql: "drop index idx_sessions_active_lookup; create index idx_sessions_active_lookup on sessions (agent_name)",
        reported: /index public\.idx_sessions_active_lookup: not the stack's/,
    },
    {
        what: "the per-user unique key replaced by a plain index of the same name",
        sql:
            "alter table sessions drop constraint sessions_user_id_session_id_key; " +
            "create index sessions_user_id_session_id_key on sessions (user_id, session_id)",
        reported: /index public\.sessions_user_id_session_id_key: not the stack's/,
    },
    {
        what: "an updated_at trigger set to fire for replication only",
        sql: "alter table sessions enable replica trigger update_sessions_updated_at",
        reported: /update_sessions_updated_at/,
    },
    {
        what: "the app role's EXECUTE on match_goals revoked",
        sql: "revoke execute on function public.match_goals(jsonb, integer, uuid, integer, boolean) from {app}, public",
        reported: /privilege .*grant execute on function .*"match_goals"/,
    },
    {
        what: "the plain-claim switch granted to PUBLIC",
        sql: "grant execute on function memory_stack.trust_plain_claims() to public",
        reported: /EXECUTE on memory_stack\.trust_plain_claims/,
    },
];

describe.each(held)("a schema with $what", ({ sql, reported }) => {
    it("fails verification, naming it", async () => {
        const report = await verifyWith(sql);

        expect(report.ok).toBe(false);
        expect(lines(report)).toMatch(reported);
    });
});

// The reverse: what an application does beside a correct schema must not fail verification.
const correct: { what: string; sql: string }[] = [
    {
        what: "an application's schema with tables and a function named like the stack's",
        sql:
            "create schema crm; create table crm.sessions (id uuid primary key, user_id uuid, session_id text); " +
            "create table crm.goal_assessments (id int); " +
            "create function crm.get_active_session(user_id uuid, agent_name text) returns uuid language sql as 'select null::uuid'",
    },
    {
        what: "an application's own trigger, index, restrictive policy and column on a memory table",
        sql:
            "create function public.app_touch() returns trigger language plpgsql as 'begin return new; end'; " +
            "create trigger app_touch before insert on goal_assessments for each row execute function app_touch(); " +
            "create index app_goal_agent on goal_assessments (agent_name, created_at); " +
            "create policy app_hide_abandoned on goal_assessments as restrictive for select to {app} using (status <> 'abandoned' or true); " +
            "alter table goal_assessments add column app_score int default 0",
    },
    {
        what: "an application's permissive policy for a reporting role of its own",
        sql:
            "create role a15_verify_reporting nologin; grant select on all tables in schema public to a15_verify_reporting; " +
            "create policy reporting_reads on sessions for select to a15_verify_reporting using (true)",
    },
    {
        what: "an application's extra grants to the app role",
        sql:
            "create table public.app_things (id int); grant select on public.app_things to {app}; " +
            "grant select on public.recent_agent_activity to {app}",
    },
    {
        what: "odd session settings on the verifying connection",
        sql:
            "set search_path = crm2, \"$user\", public; set timezone = 'Pacific/Kiritimati'; set datestyle = 'SQL, DMY'; " +
            "set intervalstyle = 'sql_standard'; set extra_float_digits = 0; set standard_conforming_strings = off; " +
            "set transaction isolation level serializable; set transform_null_equals = on; set bytea_output = escape",
    },
    {
        what: "settings a role or database may carry (row_security off, every identifier quoted, generic plans, no sequential scans)",
        sql:
            "set row_security = off; set quote_all_identifiers = on; set plan_cache_mode = force_generic_plan; " +
            "set enable_seqscan = off; set array_nulls = off; set intervalstyle = 'iso_8601'; set lc_monetary = 'C'",
    },
];

describe.each(correct)("a correct schema beside $what", ({ sql }) => {
    it("passes verification", async () => {
        const report = await verifyWith(sql);

        expect(lines(report)).toBe("");
        expect(report.ok).toBe(true);
    });
});

it("passes twice on one long-lived connection that an application used before", async () => {
    const expected = await expectationsFor(schema.options, migrationsFor(schema.options));
    await schema.client.query(
        `set search_path = "$user", public, pg_catalog; set timezone = 'America/St_Johns'; set statement_timeout = '1s'; ` +
            `set role "${schema.options.adminRole}"; reset role`,
    );
    try {
        const reports = [await verifySchema(schema.client, expected), await verifySchema(schema.client, expected)];

        expect(reports.map(lines)).toEqual(["", ""]);
    } finally {
        await schema.client.query("reset all");
    }
});
