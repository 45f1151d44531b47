import type { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MEMORY_TABLES } from "../../engine/migrate/manifest";
import { schemaDatabase, type SchemaDatabase } from "../support/schema-db";

describe("the maintenance functions on PostgreSQL 15", () => {
    let s: SchemaDatabase;
    let c: Client;
    const one = async (sql: string, params: unknown[] = []) => (await c.query(sql, params)).rows[0];
    const rowsAsText = async (table: string, where = "true", params: unknown[] = []) =>
        (await c.query(`select t::text as row from ${table} t where ${where} order by t.id`, params)).rows.map((r) => r.row as string);
    const newUser = async (email: string) => (await one(`insert into users (email) values ($1) returning id`, [email])).id as string;

    beforeAll(async () => {
        s = await schemaDatabase("schema_maintenance", { rls: false });
        c = s.client;
    });
    afterAll(async () => s?.drop());

    it("close_stale_sessions times out exactly the sessions active for longer than the interval and returns them", async () => {
        const user = await newUser("stale@example.com");
        const insert = `insert into sessions (session_id, user_id, agent_name, status, started_at) values ($1, $2, 'a', $3, now() - $4::interval) returning id`;
        const stale = (await one(insert, ["stale", user, "active", "25 hours"])).id;
        await one(insert, ["fresh", user, "active", "1 hour"]);
        await one(insert, ["old-done", user, "completed", "48 hours"]);
        const untouchedBefore = await rowsAsText("sessions", "t.id <> $1", [stale]);

        const { rows } = await c.query(`select * from close_stale_sessions(interval '24 hours')`);

        expect(rows).toEqual([{ id: stale, session_id: "stale", user_id: user }]);
        expect(await one(`select status, ended_at is not null as ended from sessions where id = $1`, [stale])).toEqual({
            status: "timeout",
            ended: true,
        });
        expect(await rowsAsText("sessions", "t.id <> $1", [stale])).toEqual(untouchedBefore);
        expect((await c.query(`select * from close_stale_sessions()`)).rows).toEqual([]);
    });

    it("purge_old_logs deletes only logs older than each retention and returns the count per table", async () => {
        const mem = `insert into memory_logs (agent_name, operation, created_at) values ('a', 'write', now() - $1::interval) returning id`;
        const aud = `insert into audit_logs (action, created_at) values ('x', now() - $1::interval) returning id`;
        await one(mem, ["31 days"]);
        await one(mem, ["40 days"]);
        const keptLog = (await one(mem, ["29 days"])).id;
        await one(aud, ["91 days"]);
        const keptAudit = (await one(aud, ["89 days"])).id;
        const keptLogRows = await rowsAsText("memory_logs");
        const keptAuditRows = await rowsAsText("audit_logs");

        const { rows } = await c.query(`select table_name, deleted::int from purge_old_logs(interval '30 days', interval '90 days')`);

        expect(rows).toEqual([
            { table_name: "memory_logs", deleted: 2 },
            { table_name: "audit_logs", deleted: 1 },
        ]);
        expect(await rowsAsText("memory_logs")).toEqual(keptLogRows.filter((r) => r.startsWith(`(${keptLog},`)));
        expect(await rowsAsText("audit_logs")).toEqual(keptAuditRows.filter((r) => r.startsWith(`(${keptAudit},`)));
    });

    it.each([
        ["close_stale_sessions(interval '-1 hour')", /max_age must be a non-negative interval/],
        ["purge_old_logs(null, interval '1 day')", /retention intervals must be non-negative/],
        ["forget_user(null)", /target_user_id must not be null/],
    ])("%s is refused with a clear error", async (call, message) => {
        await expect(c.query(`select * from ${call}`)).rejects.toMatchObject({ code: "22023", message: expect.stringMatching(message) });
    });

    it("forget_user erases one user's memory, anonymizes their audit rows, keeps the user row and touches no one else", async () => {
        await c.query(`delete from sessions; delete from memory_logs; delete from audit_logs`);
        const seed = async (user: string, key: string) => {
            const session = (
                await one(`insert into sessions (session_id, user_id, agent_name) values ($1, $2, 'a') returning id`, [key, user])
            ).id;
            const execution = (
                await one(`insert into agent_executions (session_id, user_id, agent_name) values ($1, $2, 'a') returning id`, [
                    session,
                    user,
                ])
            ).id;
            await c.query(`insert into agent_executions (session_id, user_id, agent_name) values ($1, $2, 'b')`, [session, user]);
            await c.query(
                `insert into memory_logs (session_id, user_id, agent_name, operation) values ($1, $2, 'a', 'write'), ($1, $2, 'a', 'read'), ($1, $2, 'a', 'recall')`,
                [session, user],
            );
            await c.query(`insert into goal_assessments (session_id, user_id, agent_name, goal_text) values ($1, $2, 'a', 'g')`, [
                session,
                user,
            ]);
            await c.query(
                `insert into belief_graphs (user_id, agent_name, subject, predicate, object) values ($1, 'a', 's', 'p', 'o'), ($1, 'a', 's', 'p', 'o2')`,
                [user],
            );
            await c.query(
                `insert into cognitive_metrics (session_id, execution_id, user_id, agent_name, metric_name) values ($1, $2, $3, 'a', 'm')`,
                [session, execution, user],
            );
            await c.query(`insert into audit_logs (user_id, action) values ($1, 'login'), ($1, 'logout')`, [user]);
            await c.query(`update users set memory_preferences = '{"tone": "brief"}', last_memory_activity_at = now() where id = $1`, [
                user,
            ]);
        };
        const forgotten = await newUser("forget@example.com");
        const kept = await newUser("keep@example.com");
        await seed(forgotten, "f");
        await seed(kept, "k");
        const othersBefore: Record<string, string[]> = {};
        for (const t of [...MEMORY_TABLES, "users"]) {
            othersBefore[t] = await rowsAsText(t, t === "users" ? "t.id <> $1" : "t.user_id is distinct from $1", [forgotten]);
        }

        const { rows } = await c.query(`select table_name, action, affected::int from forget_user($1)`, [forgotten]);

        expect(rows).toEqual([
            { table_name: "cognitive_metrics", action: "deleted", affected: 1 },
            { table_name: "memory_logs", action: "deleted", affected: 3 },
            { table_name: "goal_assessments", action: "deleted", affected: 1 },
            { table_name: "belief_graphs", action: "deleted", affected: 2 },
            { table_name: "agent_executions", action: "deleted", affected: 2 },
            { table_name: "sessions", action: "deleted", affected: 1 },
            { table_name: "audit_logs", action: "anonymized", affected: 2 },
            { table_name: "users", action: "memory columns cleared", affected: 1 },
        ]);
        for (const table of MEMORY_TABLES) {
            expect((await one(`select count(*)::int as n from ${table} where user_id = $1`, [forgotten])).n, table).toBe(0);
        }
        expect((await one(`select count(*)::int as n from audit_logs where user_id is null`)).n).toBe(2);
        expect(await one(`select email, memory_preferences, last_memory_activity_at from users where id = $1`, [forgotten])).toEqual({
            email: "forget@example.com",
            memory_preferences: {},
            last_memory_activity_at: null,
        });
        for (const t of [...MEMORY_TABLES.filter((t) => t !== "audit_logs"), "users"]) {
            expect(await rowsAsText(t, t === "users" ? "t.id <> $1" : "t.user_id is distinct from $1", [forgotten]), t).toEqual(
                othersBefore[t],
            );
        }
        expect(await rowsAsText("audit_logs", "t.user_id = $1", [kept])).toEqual(othersBefore.audit_logs.filter((r) => r.includes(kept)));
    });
});
