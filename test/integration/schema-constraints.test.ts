import type { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MEMORY_TABLES } from "../../engine/migrate/manifest";
import { schemaDatabase, type SchemaDatabase } from "../support/schema-db";

const MISSING = "00000000-0000-4000-8000-000000000000";

async function failure(client: Client, sql: string, params: unknown[] = []): Promise<{ code?: string; constraint?: string }> {
    try {
        await client.query(sql, params);
    } catch (error) {
        const e = error as { code?: string; constraint?: string };
        return { code: e.code, constraint: e.constraint };
    }
    throw new Error(`expected to fail: ${sql}`);
}

describe("the memory tables' constraints on PostgreSQL 15", () => {
    let s: SchemaDatabase;
    let c: Client;
    let user: string;
    let session: string;
    let execution: string;
    const one = async (sql: string, params: unknown[] = []) => (await c.query(sql, params)).rows[0];

    beforeAll(async () => {
        s = await schemaDatabase("schema_constraints", { rls: false });
        c = s.client;
        user = (await one(`insert into users (email) values ('a@example.com') returning id`)).id;
        session = (await one(`insert into sessions (session_id, user_id, agent_name) values ('s-1', $1, 'sales') returning id`, [user])).id;
        execution = (
            await one(`insert into agent_executions (session_id, user_id, agent_name) values ($1, $2, 'sales') returning id`, [
                session,
                user,
            ])
        ).id;
    });
    afterAll(async () => s?.drop());

    // One bad value per check constraint, on an otherwise valid row.
    const badRows: Record<string, string> = {
        sessions_status_check: `insert into sessions (session_id, agent_name, status) values ('bad', 'a', 'paused')`,
        agent_executions_status_check: `insert into agent_executions (agent_name, status) values ('a', 'done')`,
        agent_executions_tokens_input_check: `insert into agent_executions (agent_name, tokens_input) values ('a', -1)`,
        agent_executions_tokens_output_check: `insert into agent_executions (agent_name, tokens_output) values ('a', -1)`,
        agent_executions_cost_usd_check: `insert into agent_executions (agent_name, cost_usd) values ('a', -0.01)`,
        agent_executions_duration_ms_check: `insert into agent_executions (agent_name, duration_ms) values ('a', -5)`,
        memory_logs_operation_check: `insert into memory_logs (agent_name, operation) values ('a', 'delete')`,
        memory_logs_relevance_score_check: `insert into memory_logs (agent_name, operation, relevance_score) values ('a', 'read', 1.01)`,
        memory_logs_latency_ms_check: `insert into memory_logs (agent_name, operation, latency_ms) values ('a', 'read', -1)`,
        goal_assessments_status_check: `insert into goal_assessments (user_id, agent_name, goal_text, status) values ($1, 'a', 'g', 'done')`,
        goal_assessments_progress_check: `insert into goal_assessments (user_id, agent_name, goal_text, progress) values ($1, 'a', 'g', 1.5)`,
        goal_assessments_goal_vector_check: `insert into goal_assessments (user_id, agent_name, goal_text, goal_vector) values ($1, 'a', 'g', '{"x": 1}')`,
        belief_graphs_confidence_check: `insert into belief_graphs (agent_name, subject, predicate, object, confidence) values ('a', 's', 'p', 'o', -0.1)`,
        belief_graphs_belief_vector_check: `insert into belief_graphs (agent_name, subject, predicate, object, belief_vector) values ('a', 's', 'p', 'o', '0.5')`,
        cognitive_metrics_cognitive_load_check: `insert into cognitive_metrics (agent_name, metric_name, cognitive_load) values ('a', 'm', 2)`,
        cognitive_metrics_latency_ms_check: `insert into cognitive_metrics (agent_name, metric_name, latency_ms) values ('a', 'm', -1)`,
        cognitive_metrics_tokens_used_check: `insert into cognitive_metrics (agent_name, metric_name, tokens_used) values ('a', 'm', -1)`,
    };

    it("has exactly the check constraints this test exercises", async () => {
        const { rows } = await c.query(
            `
            select conname from pg_constraint where contype = 'c' and conrelid = any(array(
                select oid from pg_class where relnamespace = 'public'::regnamespace and relname = any($1))) order by conname`,
            [MEMORY_TABLES],
        );
        expect(rows.map((r) => r.conname)).toEqual(Object.keys(badRows).sort());
    });

    it.each(Object.entries(badRows))("%s rejects a bad value", async (name, sql) => {
        const params = sql.includes("$1") ? [user] : [];
        expect(await failure(c, sql, params)).toEqual({ code: "23514", constraint: name });
    });

    it("accepts the boundary values of every 0..1 score", async () => {
        await c.query(`insert into memory_logs (agent_name, operation, relevance_score) values ('a', 'read', 0), ('a', 'read', 1)`);
        await c.query(`insert into goal_assessments (user_id, agent_name, goal_text, progress) values ($1, 'a', 'g', 1)`, [user]);
        await c.query(`insert into belief_graphs (agent_name, subject, predicate, object, confidence) values ('a', 's', 'p', 'o', 0)`);
        await c.query(`insert into cognitive_metrics (agent_name, metric_name, cognitive_load) values ('a', 'm', 1)`);
        await c.query(`delete from memory_logs; delete from goal_assessments; delete from belief_graphs; delete from cognitive_metrics`);
    });

    it("keeps session_id unique per user, a missing user counting as one, and lets another user use the same key", async () => {
        expect(await failure(c, `insert into sessions (session_id, user_id, agent_name) values ('s-1', $1, 'x')`, [user])).toEqual({
            code: "23505",
            constraint: "sessions_user_id_session_id_key",
        });
        await c.query("begin");
        try {
            const other = (await one(`insert into users (email) values ('b@example.com') returning id`)).id;
            await c.query(`insert into sessions (session_id, user_id, agent_name) values ('s-1', $1, 'x'), ('s-1', null, 'x')`, [other]);
            expect(await failure(c, `insert into sessions (session_id, agent_name) values ('s-1', 'x')`)).toEqual({
                code: "23505",
                constraint: "sessions_user_id_session_id_key",
            });
        } finally {
            await c.query("rollback");
        }
    });

    // table.column -> [referenced table, on delete]
    const foreignKeys: Record<string, [string, string]> = {
        "sessions.user_id": ["users", "cascade"],
        "agent_executions.session_id": ["sessions", "cascade"],
        "agent_executions.user_id": ["users", "cascade"],
        "memory_logs.session_id": ["sessions", "set null"],
        "memory_logs.user_id": ["users", "cascade"],
        "goal_assessments.user_id": ["users", "cascade"],
        "goal_assessments.session_id": ["sessions", "set null"],
        "belief_graphs.user_id": ["users", "cascade"],
        "cognitive_metrics.session_id": ["sessions", "set null"],
        "cognitive_metrics.execution_id": ["agent_executions", "cascade"],
        "cognitive_metrics.user_id": ["users", "cascade"],
        "audit_logs.user_id": ["users", "set null"],
    };
    const required: Record<string, string> = {
        sessions: "session_id, agent_name",
        agent_executions: "agent_name",
        memory_logs: "agent_name, operation",
        goal_assessments: "agent_name, goal_text",
        belief_graphs: "agent_name, subject, predicate, object",
        cognitive_metrics: "agent_name, metric_name",
        audit_logs: "action",
    };
    const requiredValues: Record<string, string> = {
        sessions: "'orphan', 'a'",
        agent_executions: "'a'",
        memory_logs: "'a', 'read'",
        goal_assessments: "'a', 'g'",
        belief_graphs: "'a', 's', 'p', 'o'",
        cognitive_metrics: "'a', 'm'",
        audit_logs: "'x'",
    };

    it("has exactly the foreign keys this test exercises, each saying what happens on delete", async () => {
        const { rows } = await c.query(
            `
            select t.relname || '.' || a.attname as column, r.relname as referenced,
                   case k.confdeltype when 'c' then 'cascade' when 'n' then 'set null' when 'a' then 'no action' when 'r' then 'restrict' end as on_delete
            from pg_constraint k join pg_class t on t.oid = k.conrelid join pg_class r on r.oid = k.confrelid
            join pg_attribute a on a.attrelid = k.conrelid and a.attnum = k.conkey[1]
            where k.contype = 'f' and t.relnamespace = 'public'::regnamespace and t.relname = any($1)`,
            [MEMORY_TABLES],
        );
        expect(Object.fromEntries(rows.map((r) => [r.column, [r.referenced, r.on_delete]]))).toEqual(foreignKeys);
    });

    it.each(Object.keys(foreignKeys))("%s rejects an orphan", async (column) => {
        const [table, col] = column.split(".");
        const sql = `insert into ${table} (${required[table]}, ${col}${table === "goal_assessments" && col !== "user_id" ? ", user_id" : ""})
                     values (${requiredValues[table]}, $1${table === "goal_assessments" && col !== "user_id" ? ", $2" : ""})`;
        const params = table === "goal_assessments" && col !== "user_id" ? [MISSING, user] : [MISSING];
        expect(await failure(c, sql, params)).toMatchObject({ code: "23503" });
    });

    it("deleting an execution deletes its metrics", async () => {
        const e2 = (
            await one(`insert into agent_executions (session_id, user_id, agent_name) values ($1, $2, 'x') returning id`, [session, user])
        ).id;
        await c.query(`insert into cognitive_metrics (execution_id, agent_name, metric_name) values ($1, 'x', 'm')`, [e2]);
        await c.query(`delete from agent_executions where id = $1`, [e2]);
        expect((await one(`select count(*)::int as n from cognitive_metrics where execution_id = $1`, [e2])).n).toBe(0);
    });

    it("deleting a session deletes its executions and keeps logs, goals and metrics with a null session", async () => {
        const s2 = (await one(`insert into sessions (session_id, user_id, agent_name) values ('s-2', $1, 'x') returning id`, [user])).id;
        await c.query(`insert into agent_executions (session_id, user_id, agent_name) values ($1, $2, 'x')`, [s2, user]);
        const log = (
            await one(`insert into memory_logs (session_id, user_id, agent_name, operation) values ($1, $2, 'x', 'write') returning id`, [
                s2,
                user,
            ])
        ).id;
        const goal = (
            await one(`insert into goal_assessments (session_id, user_id, agent_name, goal_text) values ($1, $2, 'x', 'g') returning id`, [
                s2,
                user,
            ])
        ).id;
        const metric = (
            await one(`insert into cognitive_metrics (session_id, agent_name, metric_name) values ($1, 'x', 'm') returning id`, [s2])
        ).id;
        await c.query(`delete from sessions where id = $1`, [s2]);
        expect((await one(`select count(*)::int as n from agent_executions where session_id = $1`, [s2])).n).toBe(0);
        expect(
            await one(
                `select
            (select session_id from memory_logs where id = $1) as log,
            (select session_id from goal_assessments where id = $2) as goal,
            (select session_id from cognitive_metrics where id = $3) as metric,
            (select count(*)::int from memory_logs where id = $1) + (select count(*)::int from goal_assessments where id = $2)
              + (select count(*)::int from cognitive_metrics where id = $3) as kept`,
                [log, goal, metric],
            ),
        ).toEqual({ log: null, goal: null, metric: null, kept: 3 });
        await c.query(`delete from cognitive_metrics where id = $1`, [metric]);
    });

    it("deleting a user deletes their memory rows and keeps their audit rows with a null user", async () => {
        await c.query(`insert into memory_logs (session_id, user_id, agent_name, operation) values ($1, $2, 'sales', 'write')`, [
            session,
            user,
        ]);
        await c.query(`insert into goal_assessments (user_id, agent_name, goal_text) values ($1, 'sales', 'g')`, [user]);
        await c.query(`insert into belief_graphs (user_id, agent_name, subject, predicate, object) values ($1, 'sales', 's', 'p', 'o')`, [
            user,
        ]);
        await c.query(`insert into cognitive_metrics (user_id, execution_id, agent_name, metric_name) values ($1, $2, 'sales', 'm')`, [
            user,
            execution,
        ]);
        const audit = (await one(`insert into audit_logs (user_id, action) values ($1, 'login') returning id`, [user])).id;
        await c.query(`delete from users where id = $1`, [user]);
        const left = await one(
            `select ${MEMORY_TABLES.filter((t) => t !== "audit_logs")
                .map((t) => `(select count(*)::int from ${t}) as ${t}`)
                .join(", ")}`,
        );
        expect(left).toEqual({
            cognitive_metrics: 0,
            belief_graphs: 0,
            goal_assessments: 0,
            memory_logs: 0,
            agent_executions: 0,
            sessions: 0,
        });
        expect(await one(`select user_id, action from audit_logs where id = $1`, [audit])).toEqual({ user_id: null, action: "login" });
    });
});
