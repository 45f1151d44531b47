import type { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MEMORY_TABLES } from "../../engine/migrate/manifest";
import { loadRollbackSql } from "../../engine/migrate/render";
import { applyMigrations, migrationsFor } from "../support/apply-sql";
import { grantTestAccess, schemaDatabase, type SchemaDatabase } from "../support/schema-db";

const USER_TABLES = MEMORY_TABLES.filter((t) => t !== "audit_logs");

/** Inserts, for one user, one row in every memory table (two sessions, so counts differ from 1). */
async function seedUser(c: Client, email: string): Promise<{ id: string; counts: Record<string, number> }> {
    const id = (await c.query(`insert into users (email) values ($1) returning id`, [email])).rows[0].id as string;
    const session = (
        await c.query(`insert into sessions (session_id, user_id, agent_name) values ($1, $2, 'a'), ($1 || '-2', $2, 'a') returning id`, [
            email,
            id,
        ])
    ).rows[0].id;
    const execution = (
        await c.query(`insert into agent_executions (session_id, user_id, agent_name) values ($1, $2, 'a') returning id`, [session, id])
    ).rows[0].id;
    await c.query(`insert into memory_logs (session_id, user_id, agent_name, operation) values ($1, $2, 'a', 'write')`, [session, id]);
    await c.query(`insert into goal_assessments (user_id, agent_name, goal_text, goal_vector) values ($1, 'a', 'g', '[1, 0, 0]')`, [id]);
    await c.query(`insert into belief_graphs (user_id, agent_name, subject, predicate, object) values ($1, 'a', 's', 'p', 'o')`, [id]);
    await c.query(
        `insert into cognitive_metrics (session_id, execution_id, user_id, agent_name, metric_name) values ($1, $2, $3, 'a', 'm')`,
        [session, execution, id],
    );
    await c.query(`insert into audit_logs (user_id, action) values ($1, 'login')`, [id]);
    return {
        id,
        counts: {
            sessions: 2,
            agent_executions: 1,
            memory_logs: 1,
            goal_assessments: 1,
            belief_graphs: 1,
            cognitive_metrics: 1,
            audit_logs: 1,
        },
    };
}

describe("row level security on plain PostgreSQL 15", () => {
    let s: SchemaDatabase;
    let c: Client;
    let a: string;
    let b: string;

    /** Runs work as `role` with `userId` set transaction-locally (as through PgBouncer), then rolls back. */
    async function as<T>(role: string, userId: string | null, work: () => Promise<T>): Promise<T> {
        await c.query("begin");
        try {
            await c.query(`set local role "${role}"`);
            if (userId) await c.query(`select set_config('request.jwt.claim.sub', $1, true)`, [userId]);
            return await work();
        } finally {
            await c.query("rollback");
        }
    }
    const visible = async (table: string) =>
        (await c.query(`select coalesce(user_id::text, 'null') as user_id, count(*)::int as n from ${table} group by 1 order by 1`)).rows;

    beforeAll(async () => {
        s = await schemaDatabase("schema_rls", { rls: true });
        c = s.client;
        await grantTestAccess(c, s.options);
        a = (await seedUser(c, "a@example.com")).id;
        b = (await seedUser(c, "b@example.com")).id;
    });
    afterAll(async () => s?.drop());

    it.each(USER_TABLES)("the app role with A's id sees only A's rows in %s", async (table) => {
        const rows = await as(s.options.appRole, a, () => visible(table));
        expect(rows).toEqual([{ user_id: a, n: table === "sessions" ? 2 : 1 }]);
    });

    it.each(USER_TABLES)("the app role with A's id changes only A's rows in %s and cannot write B's", async (table) => {
        await as(s.options.appRole, a, async () => {
            expect((await c.query(`update ${table} set agent_name = 'changed'`)).rowCount).toBe(table === "sessions" ? 2 : 1);
            await c.query("savepoint before_b");
            await expect(c.query(`update ${table} set user_id = $1`, [b])).rejects.toMatchObject({ code: "42501" });
            await c.query("rollback to savepoint before_b");
            expect((await c.query(`delete from ${table}`)).rowCount).toBe(table === "sessions" ? 2 : 1);
        });
        expect(await visible(table)).toEqual([a, b].sort().map((id) => ({ user_id: id, n: table === "sessions" ? 2 : 1 })));
    });

    it("the app role inserts rows for its own user only", async () => {
        await as(s.options.appRole, a, async () => {
            await c.query(`insert into sessions (session_id, user_id, agent_name) values ('own', $1, 'a')`, [a]);
            await expect(
                c.query(`insert into sessions (session_id, user_id, agent_name) values ('theirs', $1, 'a')`, [b]),
            ).rejects.toMatchObject({ code: "42501", message: expect.stringMatching(/row-level security/) });
        });
    });

    it("the app role cannot read audit_logs, not even its own rows, but can append its own", async () => {
        await as(s.options.appRole, a, async () => {
            expect(await visible("audit_logs")).toEqual([]);
            expect((await c.query(`update audit_logs set action = 'x'`)).rowCount).toBe(0);
            expect((await c.query(`delete from audit_logs`)).rowCount).toBe(0);
            await c.query(`insert into audit_logs (user_id, action) values ($1, 'own event')`, [a]);
            await expect(c.query(`insert into audit_logs (user_id, action) values ($1, 'forged')`, [b])).rejects.toMatchObject({
                code: "42501",
            });
        });
    });

    it.each(MEMORY_TABLES)("the admin role sees every user's rows in %s", async (table) => {
        const rows = await as(s.options.adminRole, null, () => visible(table));
        expect(rows).toEqual([a, b].sort().map((id) => ({ user_id: id, n: table === "sessions" ? 2 : 1 })));
    });

    it.each(MEMORY_TABLES)("the app role with no id set sees nothing in %s", async (table) => {
        expect(await as(s.options.appRole, null, () => visible(table))).toEqual([]);
    });

    it("forgets the id at the end of the transaction, so a pooled connection reused by someone else sees nothing", async () => {
        await c.query("begin");
        await c.query(`select set_config('request.jwt.claim.sub', $1, true)`, [a]);
        await c.query("commit");
        expect(await as(s.options.appRole, null, () => visible("sessions"))).toEqual([]);
    });

    it("also takes the id from the request.jwt.claims json that PostgREST sets", async () => {
        const rows = await as(s.options.appRole, null, async () => {
            await c.query(`select set_config('request.jwt.claims', $1, true)`, [JSON.stringify({ sub: b, role: "authenticated" })]);
            return visible("goal_assessments");
        });
        expect(rows).toEqual([{ user_id: b, n: 1 }]);
    });

    it("applies through the views and match_goals too, which run as the caller", async () => {
        await as(s.options.appRole, a, async () => {
            expect((await c.query(`select user_id from user_session_stats`)).rows).toEqual([{ user_id: a }]);
            expect((await c.query(`select distinct user_id from recent_agent_activity`)).rows).toEqual([{ user_id: a }]);
            expect((await c.query(`select user_id from match_goals('[1, 0, 0]', 10)`)).rows).toEqual([{ user_id: a }]);
        });
    });

    it("leaves the owner, which migrates and verifies, seeing every row (rls enabled, not forced)", async () => {
        expect(await visible("audit_logs")).toEqual([a, b].sort().map((id) => ({ user_id: id, n: 1 })));
    });
});

describe("an auth.uid() that already exists, as on Supabase", () => {
    let s: SchemaDatabase;
    let c: Client;
    const SUPABASE_LIKE = `select nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub'`;

    beforeAll(async () => {
        s = await schemaDatabase("schema_rls_supa", { rls: true }, false);
        c = s.client;
        await c.query(
            `create schema auth; create function auth.uid() returns uuid language sql stable as $$ select (${SUPABASE_LIKE})::uuid $$`,
        );
        await applyMigrations(c, migrationsFor(s.options));
        await grantTestAccess(c, s.options);
    });
    afterAll(async () => s?.drop());

    it("is used by the policies, not replaced, and not claimed as the schema's own", async () => {
        const { rows } = await c.query(`select prosrc from pg_proc where oid = 'auth.uid()'::regprocedure`);
        expect(rows[0].prosrc).toContain(SUPABASE_LIKE);
        const owned = await c.query(`select kind, name from memory_stack.owned_objects where kind in ('function', 'schema')`);
        expect(owned.rows).toEqual([]);
        const a = (await seedUser(c, "a@example.com")).id;
        await seedUser(c, "b@example.com");
        await c.query("begin");
        try {
            await c.query(`set local role "${s.options.appRole}"`);
            await c.query(`select set_config('request.jwt.claims', $1, true)`, [JSON.stringify({ sub: a })]);
            expect((await c.query(`select distinct user_id from sessions`)).rows).toEqual([{ user_id: a }]);
        } finally {
            await c.query("rollback");
        }
    });

    it("is kept by the rollback", async () => {
        await c.query(`revoke all on all tables in schema public from "${s.options.appRole}", "${s.options.adminRole}";
            revoke all on all functions in schema public from "${s.options.appRole}", "${s.options.adminRole}";
            revoke usage on schema public from "${s.options.appRole}", "${s.options.adminRole}"`);
        await c.query(loadRollbackSql());
        const { rows } = await c.query(`select prosrc from pg_proc where oid = to_regprocedure('auth.uid()')`);
        expect(rows).toHaveLength(1);
        expect(rows[0].prosrc).toContain(SUPABASE_LIKE);
    });
});
