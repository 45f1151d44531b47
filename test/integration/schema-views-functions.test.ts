import type { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { schemaDatabase, type SchemaDatabase } from "../support/schema-db";

describe("the seed's functions, triggers and views on PostgreSQL 15", () => {
    let s: SchemaDatabase;
    let c: Client;
    let alice: string;
    let bob: string;
    const one = async (sql: string, params: unknown[] = []) => (await c.query(sql, params)).rows[0];
    const newSession = async (key: string, user: string | null, agent: string, status: string, startedAt: string) =>
        (
            await one(
                `insert into sessions (session_id, user_id, agent_name, status, started_at) values ($1, $2, $3, $4, $5) returning id`,
                [key, user, agent, status, startedAt],
            )
        ).id as string;

    beforeAll(async () => {
        s = await schemaDatabase("schema_functions", { rls: false });
        c = s.client;
        alice = (await one(`insert into users (email) values ('alice@example.com') returning id`)).id;
        bob = (await one(`insert into users (email, display_name) values ('bob@example.com', 'Bob') returning id`)).id;
    });
    afterAll(async () => s?.drop());

    describe("triggers", () => {
        it.each([
            [
                "sessions",
                `insert into sessions (session_id, agent_name, updated_at) values ('trig', 'a', '2000-01-01') returning id`,
                `context = '{"x": 1}'`,
            ],
            [
                "goal_assessments",
                `insert into goal_assessments (user_id, agent_name, goal_text, updated_at) values ($1, 'a', 'g', '2000-01-01') returning id`,
                `progress = 0.5`,
            ],
            [
                "belief_graphs",
                `insert into belief_graphs (agent_name, subject, predicate, object, updated_at) values ('a', 's', 'p', 'o', '2000-01-01') returning id`,
                `confidence = 0.9`,
            ],
        ])("moves %s.updated_at to the time of the update", async (table, insert, change) => {
            const id = (await one(insert, insert.includes("$1") ? [alice] : [])).id;
            await c.query(`update ${table} set ${change} where id = $1`, [id]);
            const row = await one(`select updated_at > now() - interval '1 minute' as moved from ${table} where id = $1`, [id]);
            expect(row.moved).toBe(true);
            await c.query(`delete from ${table} where id = $1`, [id]);
        });

        it("computes duration_ms when an execution completes", async () => {
            const id = (
                await one(`insert into agent_executions (agent_name, started_at) values ('a', '2025-01-01 00:00:00+00') returning id`)
            ).id;
            expect((await one(`select duration_ms from agent_executions where id = $1`, [id])).duration_ms).toBeNull();
            await c.query(`update agent_executions set status = 'completed', completed_at = '2025-01-01 00:00:01.5+00' where id = $1`, [
                id,
            ]);
            expect((await one(`select duration_ms from agent_executions where id = $1`, [id])).duration_ms).toBe(1500);
        });

        it("sets completed_at and duration_ms when an execution reaches a final status without completed_at", async () => {
            const id = (
                await one(`insert into agent_executions (agent_name, started_at) values ('a', now() - interval '2 seconds') returning id`)
            ).id;
            await c.query(`update agent_executions set status = 'failed' where id = $1`, [id]);
            const row = await one(
                `select completed_at is not null as completed, duration_ms,
                round(extract(epoch from completed_at - started_at) * 1000)::int as elapsed from agent_executions where id = $1`,
                [id],
            );
            expect(row.completed).toBe(true);
            expect(row.duration_ms).toBe(row.elapsed);
            expect(row.duration_ms).toBeGreaterThanOrEqual(2000);
            await c.query(`delete from agent_executions`);
        });
    });

    describe("get_active_session and close_session", () => {
        it("get_active_session returns null for a user with no session", async () => {
            expect((await one(`select get_active_session($1, 'sales') as id`, [bob])).id).toBeNull();
        });

        it("get_active_session returns the newest active session of that user and agent", async () => {
            await newSession("g-old", alice, "sales", "active", "2025-01-01T10:00:00Z");
            const newest = await newSession("g-new", alice, "sales", "active", "2025-01-02T10:00:00Z");
            await newSession("g-done", alice, "sales", "completed", "2025-01-03T10:00:00Z");
            await newSession("g-other-agent", alice, "support", "active", "2025-01-04T10:00:00Z");
            await newSession("g-other-user", bob, "sales", "active", "2025-01-05T10:00:00Z");
            expect((await one(`select get_active_session(user_id => $1, agent_name => 'sales') as id`, [alice])).id).toBe(newest);
            await c.query(`delete from sessions`);
        });

        it("close_session closes an active session once, completed by default", async () => {
            const id = await newSession("c-1", alice, "sales", "active", "2025-01-01T10:00:00Z");
            expect((await one(`select close_session($1) as closed`, [id])).closed).toBe(true);
            expect(await one(`select status, ended_at is not null as ended from sessions where id = $1`, [id])).toEqual({
                status: "completed",
                ended: true,
            });
            expect((await one(`select close_session($1, 'failed') as closed`, [id])).closed).toBe(false);
            expect((await one(`select status from sessions where id = $1`, [id])).status).toBe("completed");
        });

        it.each(["failed", "timeout"])("close_session accepts status %s", async (status) => {
            const id = await newSession(`c-${status}`, alice, "sales", "active", "2025-01-01T10:00:00Z");
            expect((await one(`select close_session($1, $2) as closed`, [id, status])).closed).toBe(true);
            expect((await one(`select status from sessions where id = $1`, [id])).status).toBe(status);
        });

        it.each(["active", "paused", null])("close_session rejects status %s with a clear error", async (status) => {
            const id = await newSession(`c-bad-${status}`, alice, "sales", "active", "2025-01-01T10:00:00Z");
            await expect(c.query(`select close_session($1, $2)`, [id, status])).rejects.toMatchObject({
                code: "22023",
                message: expect.stringMatching(/status must be completed, failed or timeout/),
            });
            expect((await one(`select status from sessions where id = $1`, [id])).status).toBe("active");
            await c.query(`delete from sessions`);
        });
    });

    describe("views over seeded rows", () => {
        type SessionRow = { key: string; user: string | null; status: string; started: string };
        type LogRow = { agent: string; op: string; at: string; success: boolean; latency: number | null };
        let sessions: SessionRow[];
        let logs: LogRow[];
        const executionIds: { id: string; started: string; key: string; user: string }[] = [];

        beforeAll(async () => {
            await c.query(`delete from sessions; delete from memory_logs; delete from agent_executions`);
            sessions = [
                { key: "v-a1", user: alice, status: "active", started: "2025-03-01T08:00:00Z" },
                { key: "v-a2", user: alice, status: "completed", started: "2025-03-02T08:00:00Z" },
                { key: "v-a3", user: alice, status: "completed", started: "2025-03-03T08:00:00Z" },
                { key: "v-a4", user: alice, status: "failed", started: "2025-03-04T08:00:00Z" },
                { key: "v-b1", user: bob, status: "timeout", started: "2025-03-05T08:00:00Z" },
                { key: "v-b2", user: bob, status: "active", started: "2025-02-01T08:00:00Z" },
                { key: "v-n1", user: null, status: "active", started: "2025-03-06T08:00:00Z" },
            ];
            const ids: Record<string, string> = {};
            for (const row of sessions) ids[row.key] = await newSession(row.key, row.user, "sales", row.status, row.started);
            for (const [key, user, started] of [
                ["v-a1", alice, "2025-03-01T09:00:00Z"],
                ["v-b1", bob, "2025-03-05T09:00:00Z"],
                ["v-a2", alice, "2025-03-02T09:00:00Z"],
            ]) {
                const id = (
                    await one(
                        `insert into agent_executions (session_id, user_id, agent_name, started_at) values ($1, $2, 'sales', $3) returning id`,
                        [ids[key], user, started],
                    )
                ).id;
                executionIds.push({ id, started, key, user });
            }
            logs = [
                { agent: "sales", op: "write", at: "2025-03-01T23:30:00Z", success: true, latency: 10 },
                { agent: "sales", op: "write", at: "2025-03-01T01:00:00Z", success: false, latency: 30 },
                { agent: "sales", op: "write", at: "2025-03-01T12:00:00Z", success: true, latency: null },
                { agent: "sales", op: "read", at: "2025-03-01T12:00:00Z", success: true, latency: 5 },
                { agent: "sales", op: "write", at: "2025-03-02T00:30:00Z", success: true, latency: 7 },
                { agent: "support", op: "recall", at: "2025-03-02T00:30:00Z", success: false, latency: 100 },
                { agent: "support", op: "recall", at: "2025-03-02T10:30:00Z", success: false, latency: 50 },
            ];
            for (const l of logs) {
                await c.query(
                    `insert into memory_logs (agent_name, operation, created_at, success, latency_ms) values ($1, $2, $3, $4, $5)`,
                    [l.agent, l.op, l.at, l.success, l.latency],
                );
            }
        });

        it("recent_agent_activity lists every execution with its session and user, newest first", async () => {
            const { rows } = await c.query(`select execution_id, session_key, user_id, user_email from recent_agent_activity`);
            const expected = [...executionIds]
                .sort((a, b) => b.started.localeCompare(a.started))
                .map((e) => ({
                    execution_id: e.id,
                    session_key: e.key,
                    user_id: e.user,
                    user_email: e.user === alice ? "alice@example.com" : "bob@example.com",
                }));
            expect(rows).toEqual(expected);
        });

        it("memory_operation_summary counts, success rate and mean latency per agent, operation and UTC day", async () => {
            const groups = new Map<string, LogRow[]>();
            for (const l of logs) {
                const key = `${l.agent}|${l.op}|${l.at.slice(0, 10)}`;
                groups.set(key, [...(groups.get(key) ?? []), l]);
            }
            const expected = [...groups.entries()]
                .map(([key, rows]) => {
                    const [agent_name, operation, operation_date] = key.split("|");
                    const latencies = rows.map((r) => r.latency).filter((v): v is number => v !== null);
                    return {
                        agent_name,
                        operation,
                        operation_date,
                        total_operations: rows.length,
                        successful_operations: rows.filter((r) => r.success).length,
                        success_rate: rows.filter((r) => r.success).length / rows.length,
                        avg_latency_ms: latencies.reduce((a, b) => a + b, 0) / latencies.length,
                    };
                })
                .sort((a, b) =>
                    `${a.agent_name}|${a.operation}|${a.operation_date}`.localeCompare(
                        `${b.agent_name}|${b.operation}|${b.operation_date}`,
                    ),
                );
            const { rows } = await c.query(`
                select agent_name, operation, operation_date::text, total_operations::int, successful_operations::int, success_rate, avg_latency_ms
                from memory_operation_summary order by agent_name || '|' || operation || '|' || operation_date::text collate "C"`);
            expect(rows).toHaveLength(expected.length);
            rows.forEach((row, i) => {
                const { success_rate, avg_latency_ms, ...exact } = expected[i];
                expect(row).toMatchObject(exact);
                expect(row.success_rate).toBeCloseTo(success_rate, 12);
                expect(row.avg_latency_ms).toBeCloseTo(avg_latency_ms, 12);
            });
        });

        it("user_session_stats counts each user's sessions by status and gives the last start", async () => {
            const expected = [alice, bob]
                .map((user) => {
                    const mine = sessions.filter((r) => r.user === user);
                    const count = (status: string) => mine.filter((r) => r.status === status).length;
                    return {
                        user_id: user,
                        total_sessions: mine.length,
                        active_sessions: count("active"),
                        completed_sessions: count("completed"),
                        failed_sessions: count("failed"),
                        timeout_sessions: count("timeout"),
                        last_session_at: new Date(
                            mine
                                .map((r) => r.started)
                                .sort()
                                .at(-1)!,
                        ).toISOString(),
                    };
                })
                .sort((a, b) => a.user_id.localeCompare(b.user_id));
            const { rows } = await c.query(`
                select user_id, total_sessions::int, active_sessions::int, completed_sessions::int, failed_sessions::int, timeout_sessions::int,
                       to_char(last_session_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as last_session_at
                from user_session_stats order by user_id::text`);
            expect(rows).toEqual(expected);
        });
    });
});
