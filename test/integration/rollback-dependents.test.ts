// Rollback never takes the application's objects with it. ALTER TABLE … DROP COLUMN drops, without
// CASCADE, every index, check constraint and statistics object on the column, and DROP TABLE every
// index, trigger, policy and rule on the table: an application object that depends on anything the
// stack would drop stops the whole rollback before anything is dropped, named with a way to remove it.
import type { Client } from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { SqlFileError } from "../../engine/migrate/execute";
import { DEPENDENT_HINT, withOurHint } from "../../engine/migrate/rollback";
import { cli } from "../support/cli";
import { dropRoles, freshDatabase, sharedServer, type TestDatabase } from "../support/database";
import { databaseFingerprint } from "../support/database-fingerprint";

const databases: TestDatabase[] = [];
const roles: string[] = [];

afterAll(async () => {
    await Promise.all(databases.map((db) => db.drop()));
    await dropRoles(sharedServer(), roles);
});

async function deployed(prefix: string): Promise<{ client: Client; env: NodeJS.ProcessEnv; roleNames: string[] }> {
    const db = await freshDatabase(prefix);
    databases.push(db);
    const roleNames = [`${db.name}_app`, `${db.name}_admin`];
    roles.push(...roleNames);
    const env = { DATABASE_URL: db.url };
    const client = await db.connect();
    await client.query(`create table public.users (id uuid primary key default gen_random_uuid(), email text);
        insert into public.users (email) select 'user' || i || '@example.com' from generate_series(1, 3) i`);
    const apply = await cli(["apply", "--app-role", roleNames[0], "--admin-role", roleNames[1]], env);
    expect(apply.code, apply.stderr).toBe(0);
    return { client, env, roleNames };
}

const statistics = async (client: Client) =>
    (await client.query<{ name: string }>("select stxname as name from pg_statistic_ext order by 1")).rows.map((row) => row.name);

describe("rollback with application objects on the memory columns of its users", () => {
    it("refuses, naming each object and how to remove it, drops nothing, and goes through once they are gone", async () => {
        const { client, env, roleNames } = await deployed("dependents_users");
        await client.query(`create index app_users_email_activity on users (email, last_memory_activity_at);
            create index app_users_prefs on users using gin (memory_preferences);
            alter table users add constraint app_chk check (memory_preferences is not null or email is not null);
            create statistics app_stats on email, memory_preferences from users`);
        const before = await databaseFingerprint(client, roleNames);

        const refused = await cli(["rollback", "--allow-data-loss"], env);

        expect(refused.code).toBe(1);
        expect(refused.stderr).toContain(
            "refusing to roll back the memory schema: 4 objects the stack did not create depend on what it would drop, " +
                "and PostgreSQL would drop them with it (or refuse to drop it). Nothing was dropped.",
        );
        for (const line of [
            "- constraint app_chk on table public.users (on column memory_preferences of table public.users): alter table public.users drop constraint app_chk",
            "- index public.app_users_email_activity (on column last_memory_activity_at of table public.users): drop index public.app_users_email_activity",
            "- index public.app_users_prefs (on column memory_preferences of table public.users): drop index public.app_users_prefs",
            "- statistics object public.app_stats (on column memory_preferences of table public.users): drop statistics public.app_stats",
        ]) {
            expect(refused.stderr).toContain(line);
        }
        expect(refused.stderr).toContain("or keep the memory schema by not rolling back.");
        expect(await databaseFingerprint(client, roleNames)).toEqual(before);
        expect(await statistics(client)).toEqual(["app_stats"]);

        await client.query(`drop index app_users_email_activity, app_users_prefs; alter table users drop constraint app_chk;
            drop statistics app_stats`);
        const rollback = await cli(["rollback"], env);
        expect(rollback.code, rollback.stderr).toBe(0);
        expect((await client.query("select email from users order by email")).rows.map((row) => row.email)).toEqual([
            "user1@example.com",
            "user2@example.com",
            "user3@example.com",
        ]);
    });
});

describe("rollback with application objects on what the stack created", () => {
    it("names every kind PostgreSQL would drop along or refuse for, and nothing of the stack's own", async () => {
        const { client, env, roleNames } = await deployed("dependents_kinds");
        await client.query(`
            alter table users add column prefs_theme text generated always as (memory_preferences ->> 'theme') stored;
            create policy app_enabled_only on users using (memory_enabled);
            create function app_touch() returns trigger language plpgsql as $$ begin return new; end $$;
            create trigger app_enabled_users before update on users for each row when (new.memory_enabled) execute function app_touch();
            create trigger app_users_updated_at before update on users for each row execute function update_updated_at_column();
            create index app_sessions_agent on sessions (agent_name);
            create trigger app_sessions_touch before update on sessions for each row execute function app_touch();
            create rule app_log_insert as on insert to memory_logs do also notify memory_logs;
            create table app_notes (id int primary key, session_id uuid references sessions (id) on delete cascade);
            create view app_activity as select agent_name, status from recent_agent_activity;
            create table app_audit_archive (archived_at timestamptz) inherits (audit_logs);
            create function app_belief_count() returns bigint language sql begin atomic select count(*) from public.belief_graphs; end;
            create sequence app_numbers owned by memory_logs.memory_key`);
        const before = await databaseFingerprint(client, roleNames);

        const refused = await cli(["rollback"], env);

        expect(refused.code).toBe(1);
        const listed = refused.stderr.split("\n").filter((line) => line.startsWith("- "));
        expect(listed).toEqual([
            "- constraint app_notes_session_id_fkey on table public.app_notes (on column id of table public.sessions, index public.sessions_pkey): alter table public.app_notes drop constraint app_notes_session_id_fkey",
            "- function public.app_belief_count() (on table public.belief_graphs): drop function public.app_belief_count()",
            "- generated column prefs_theme of table public.users (on column memory_preferences of table public.users): alter table public.users alter column prefs_theme drop expression",
            "- index public.app_sessions_agent (on column agent_name of table public.sessions): drop index public.app_sessions_agent",
            "- policy app_enabled_only on table public.users (on column memory_enabled of table public.users): drop policy app_enabled_only on public.users",
            "- rule app_log_insert on table public.memory_logs (on table public.memory_logs): drop rule app_log_insert on public.memory_logs",
            "- sequence public.app_numbers (on column memory_key of table public.memory_logs): alter sequence public.app_numbers owned by none",
            "- table public.app_audit_archive (on table public.audit_logs): alter table public.app_audit_archive no inherit public.audit_logs",
            "- trigger app_enabled_users on table public.users (on column memory_enabled of table public.users): drop trigger app_enabled_users on public.users",
            "- trigger app_sessions_touch on table public.sessions (on table public.sessions): drop trigger app_sessions_touch on public.sessions",
            "- trigger app_users_updated_at on table public.users (on function public.update_updated_at_column()): drop trigger app_users_updated_at on public.users",
            "- view public.app_activity (on columns agent_name, status of view public.recent_agent_activity): drop view public.app_activity",
        ]);
        expect(refused.stderr).not.toContain("CASCADE");
        expect(await databaseFingerprint(client, roleNames)).toEqual(before);

        // Each fix as printed, then the rollback goes through. What the application still uses stays: uuid-ossp
        // (app_audit_archive inherited audit_logs' id default), its record with it.
        for (const line of listed) {
            await client.query(line.slice(line.lastIndexOf("): ") + 3));
        }
        const rollback = await cli(["rollback"], env);
        expect(rollback.code, rollback.stderr).toBe(0);
        expect(rollback.stdout).toContain(
            'kept (other objects depend on them): extension "uuid-ossp"; their records stay in memory_stack.created_objects',
        );
        expect((await client.query("select to_regprocedure('public.update_updated_at_column()') as f")).rows[0].f).toBeNull();
        expect((await client.query("select count(*)::int as n from app_notes")).rows[0].n).toBe(0);
    });
});

describe("a dependency error from rollback.sql", () => {
    it("carries our hint, never PostgreSQL's advice to drop with cascade", () => {
        const cause = Object.assign(new Error("cannot drop table sessions because other objects depend on it"), {
            code: "2BP01",
            detail: "constraint app_notes_session_id_fkey on table app_notes depends on table sessions",
            hint: "Use DROP ... CASCADE to drop the dependent objects too.",
        });
        const error = new SqlFileError("rollback.sql", 60, "do $$ ... $$", "2BP01", cause, "Nothing was dropped.");

        const message = (withOurHint(error, "Nothing was dropped.") as Error).message;

        expect(message).toContain("cannot drop table sessions because other objects depend on it");
        expect(message).toContain("detail: constraint app_notes_session_id_fkey on table app_notes depends on table sessions");
        expect(message).toContain(`hint: ${DEPENDENT_HINT}`);
        expect(message).not.toContain("CASCADE");
    });
});
