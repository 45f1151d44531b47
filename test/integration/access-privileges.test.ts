// The privileges of privileges.ts on a real PostgreSQL 15 with the real schema: the roles are
// created as the Access component creates them (before the schema, which names them in its
// policies), the grants are the very rules the Grants component declares, rendered to SQL.
import { randomBytes } from "node:crypto";
import type { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MEMORY_TABLES, VIEWS } from "../../engine/migrate/manifest";
import { loadRollbackSql, type SchemaOptions } from "../../engine/migrate/render";
import { privilegeRules } from "../../engine/render/privileges";
import { renderGrants, renderRevokes, type GrantTarget } from "../../engine/render/grants";
import { applyMigrations, DEFAULT_OPTIONS, migrationsFor } from "../support/apply-sql";
import { dropRoles, freshDatabase, type TestDatabase } from "../support/database";

// Roles belong to the whole server, which other test files share: unique names per run.
const suffix = randomBytes(3).toString("hex");
const APP = `memory_app_${suffix}`;
const ADMIN = `memory_admin_${suffix}`;
const PASSWORD = `pw-${randomBytes(12).toString("hex")}`;
const USER_A = "00000000-0000-4000-8000-00000000000a";
const USER_B = "00000000-0000-4000-8000-00000000000b";
const EVERY_TABLE_PRIVILEGE = ["SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER"];

let db: TestDatabase;
let owner: Client;
let target: GrantTarget;
const options: SchemaOptions = { ...DEFAULT_OPTIONS, appRole: APP, adminRole: ADMIN };

beforeAll(async () => {
    db = await freshDatabase("access");
    owner = await db.connect();
    target = { database: db.name, roles: { app: APP, admin: ADMIN } };
    // What postgresql.Role runs for each role Access creates.
    for (const role of [APP, ADMIN]) {
        await owner.query(
            `create role "${role}" with login password '${PASSWORD}' nosuperuser nocreatedb nocreaterole noreplication nobypassrls`,
        );
    }
    await applyMigrations(owner, migrationsFor(options));
    for (const statement of renderGrants(privilegeRules({ rolesCreated: true }), target)) {
        await owner.query(statement);
    }
    await owner.query(`insert into public.users (id, email) values ($1, 'a@example.com'), ($2, 'b@example.com')`, [USER_A, USER_B]);
    const session = await owner.query(
        `insert into public.sessions (session_id, user_id, agent_name) values ('b-session', $1, 'sales') returning id`,
        [USER_B],
    );
    await owner.query(
        `insert into public.goal_assessments (user_id, agent_name, goal_text, goal_vector) values ($1, 'sales', 'b goal', '[1, 0, 0]')`,
        [USER_B],
    );
    await owner.query(`insert into public.agent_executions (session_id, user_id, agent_name) values ($1, $2, 'sales')`, [
        session.rows[0].id,
        USER_B,
    ]);
    await owner.query(`insert into public.audit_logs (user_id, actor, action) values ($1, 'system', 'seeded')`, [USER_B]);
});

afterAll(async () => {
    await db?.drop();
    // The database is gone, and with it every grant: the roles drop cleanly.
    await dropRoles(db.server, [APP, ADMIN]);
});

/** Runs work as `role` in a transaction with the user id bound to it (memory_stack.bind_user), then rolls back. */
async function as<T>(role: string, userId: string | undefined, work: (client: Client) => Promise<T>): Promise<T> {
    const client = await db.connect({ user: role, password: PASSWORD });
    try {
        await client.query("begin");
        if (userId !== undefined) {
            await client.query("select memory_stack.bind_user($1)", [userId]);
        }
        return await work(client);
    } finally {
        await client.query("rollback").catch(() => undefined);
        await client.end();
    }
}

/** The SQLSTATE of a statement that must fail. */
async function sqlstate(role: string, sql: string, params: unknown[] = []): Promise<string> {
    return as(role, USER_A, async (client) => {
        try {
            await client.query(sql, params);
        } catch (error) {
            return (error as { code: string }).code;
        }
        throw new Error(`${role} was allowed: ${sql}`);
    });
}

describe("the app role, as user A", () => {
    it("starts a session, logs a memory operation and finds its goals by similarity", async () => {
        await as(APP, USER_A, async (client) => {
            const session = await client.query(
                `insert into public.sessions (session_id, user_id, agent_name) values ('a-session', $1, 'sales') returning id`,
                [USER_A],
            );
            const sessionId = session.rows[0].id as string;
            expect((await client.query(`select public.get_active_session($1, 'sales') as id`, [USER_A])).rows[0].id).toBe(sessionId);

            await client.query(
                `insert into public.memory_logs (session_id, user_id, agent_name, operation, memory_key, latency_ms)
                                values ($1, $2, 'sales', 'write', 'budget', 12)`,
                [sessionId, USER_A],
            );
            await client.query(
                `insert into public.goal_assessments (user_id, session_id, agent_name, goal_text, goal_vector)
                                values ($1, $2, 'sales', 'a goal', '[1, 0, 0]')`,
                [USER_A, sessionId],
            );
            const matches = await client.query(`select goal_text, similarity from public.match_goals('[1, 0, 0]', 5, null)`);
            expect(matches.rows).toEqual([{ goal_text: "a goal", similarity: 1 }]);

            const summary = await client.query(`select total_operations from public.memory_operation_summary`);
            expect(summary.rows).toEqual([{ total_operations: "1" }]);
            await client.query(`insert into public.audit_logs (user_id, actor, action) values ($1, 'app', 'goal created')`, [USER_A]);
            expect((await client.query(`select public.close_session($1) as closed`, [sessionId])).rows[0].closed).toBe(true);
        });
    });

    it("sees none of user B's rows, in any table it may read", async () => {
        await as(APP, USER_A, async (client) => {
            for (const table of ["sessions", "agent_executions", "memory_logs", "goal_assessments", "belief_graphs", "cognitive_metrics"]) {
                const { rows } = await client.query(`select count(*)::int as n from public.${table} where user_id = $1`, [USER_B]);
                expect(rows[0].n, table).toBe(0);
            }
            expect((await client.query(`update public.sessions set agent_name = 'taken' where user_id = $1`, [USER_B])).rowCount).toBe(0);
        });
    });

    it("cannot write a row for user B (42501, the policy's with check)", async () => {
        expect(
            await sqlstate(APP, `insert into public.sessions (session_id, user_id, agent_name) values ('forged', $1, 'sales')`, [USER_B]),
        ).toBe("42501");
    });

    it("cannot read audit_logs, not even its own rows", async () => {
        expect(await sqlstate(APP, "select * from public.audit_logs")).toBe("42501");
    });

    it.each([
        ["drop a table", "drop table public.sessions"],
        ["alter a table", "alter table public.sessions add column extra text"],
        ["truncate a table", "truncate public.goal_assessments"],
        ["rewrite memory history", "delete from public.memory_logs"],
        ["read the users table", "select email from public.users"],
        ["read recent_agent_activity, which joins users", "select * from public.recent_agent_activity"],
        ["run forget_user", `select * from public.forget_user('${USER_A}')`],
        ["create a table in public", "create table public.sneaky (id int)"],
    ])("is refused: %s (42501)", async (_, sql) => {
        expect(await sqlstate(APP, sql)).toBe("42501");
    });

    it("sees nothing with no user id set", async () => {
        await as(APP, undefined, async (client) => {
            expect((await client.query("select count(*)::int as n from public.sessions")).rows[0].n).toBe(0);
        });
    });
});

describe("the admin role", () => {
    it("reads every row of every memory table, audit_logs included", async () => {
        await as(ADMIN, undefined, async (client) => {
            const counts: Record<string, number> = {};
            for (const table of MEMORY_TABLES) {
                counts[table] = (await client.query(`select count(*)::int as n from public.${table}`)).rows[0].n;
            }
            expect(counts).toEqual({
                audit_logs: 1,
                cognitive_metrics: 0,
                belief_graphs: 0,
                goal_assessments: 1,
                memory_logs: 0,
                agent_executions: 1,
                sessions: 1,
            });
        });
    });

    it("reads every view, recent_agent_activity with the user's email", async () => {
        await as(ADMIN, undefined, async (client) => {
            const activity = await client.query("select user_email from public.recent_agent_activity");
            expect(activity.rows).toEqual([{ user_email: "b@example.com" }]);
            for (const view of VIEWS) {
                await client.query(`select * from public.${view}`);
            }
        });
    });

    it("runs the maintenance functions: forget_user erases user B's memory", async () => {
        await as(ADMIN, undefined, async (client) => {
            const { rows } = await client.query(
                `select table_name, affected::int from public.forget_user($1) where affected > 0 order by table_name`,
                [USER_B],
            );
            expect(rows).toEqual([
                { table_name: "agent_executions", affected: 1 },
                { table_name: "audit_logs", affected: 1 },
                { table_name: "goal_assessments", affected: 1 },
                { table_name: "sessions", affected: 1 },
            ]);
        });
    });

    it("still cannot drop or alter a table", async () => {
        expect(await sqlstate(ADMIN, "drop table public.audit_logs")).toBe("42501");
        expect(await sqlstate(ADMIN, "alter table public.sessions disable row level security")).toBe("42501");
    });
});

describe("the grants", () => {
    it("give each role exactly the table privileges of the list on every memory table and view", async () => {
        const { rows } = await owner.query(
            `select r.role, o.name, p.privilege
             from unnest($1::text[]) r(role), unnest($2::text[]) o(name), unnest($3::text[]) p(privilege)
             where has_table_privilege(r.role, 'public.' || o.name, p.privilege)
             order by 1, 2, 3`,
            [[APP, ADMIN], [...MEMORY_TABLES, ...VIEWS], EVERY_TABLE_PRIVILEGE],
        );
        const held = rows.map((r) => `${r.role === APP ? "app" : "admin"} ${r.name} ${r.privilege}`);
        const declared = privilegeRules({ rolesCreated: true })
            .filter((rule) => rule.objectType === "table" && rule.objects.some((o) => o !== "users"))
            .flatMap((rule) => rule.objects.flatMap((o) => rule.privileges.map((p) => `${rule.grantee} ${o} ${p}`)))
            .sort();
        expect(held.sort()).toEqual(declared);
    });

    it("taken back, then the schema rolled back, leave the roles owning and holding nothing here", async () => {
        const scratch = await freshDatabase("access_destroy");
        const client = await scratch.connect();
        try {
            await applyMigrations(client, migrationsFor(options));
            const scratchTarget = { ...target, database: scratch.name };
            const rules = privilegeRules({ rolesCreated: true });
            for (const statement of renderGrants(rules, scratchTarget)) await client.query(statement);
            // pulumi destroy: grants first, then the schema's rollback, then DROP OWNED from the Role resource.
            for (const statement of renderRevokes(rules, scratchTarget)) await client.query(statement);
            await client.query("begin");
            await client.query(loadRollbackSql());
            await client.query("commit");
            const { rows } = await client.query(
                // pg_shdepend: an object here (dbid) or this database itself (its ACL) that names the roles.
                `select count(*)::int as n from pg_shdepend d, pg_database db
                 where db.datname = current_database()
                   and (d.dbid = db.oid or (d.classid = 'pg_database'::regclass and d.objid = db.oid))
                   and d.refobjid in (select oid from pg_roles where rolname = any($1))`,
                [[APP, ADMIN]],
            );
            expect(rows[0].n).toBe(0);
        } finally {
            await scratch.drop();
        }
    });
});
