// BUG on 6b0c820: an application's event trigger creating *in public* inside a migration's transaction had what it made
// recorded as the stack's (docs/migrations-safety.md said to disable it for the deploy): an audit tool's history table
// per new table (public.sessions_history, with the application's audit rows) and an index it adds to a table whenever
// it is altered (the application's own users, which 0002 gives the memory columns). Rollback dropped both, the history
// with its rows. In public, what is no part of the stack's tables and is named nowhere in the migration's file is now
// not recorded, and the apply says so.
import { expect, it } from "vitest";
import { cli } from "../support/cli";
import { cliDatabases } from "../support/cli-database";

const cliDatabase = cliDatabases();

const AUDIT_IN_PUBLIC = `create table public.users (id uuid primary key, email text);
        create function public.audit_ddl() returns event_trigger language plpgsql as $$
        declare r record;
        begin
            for r in select * from pg_event_trigger_ddl_commands() where schema_name = 'public' and object_type = 'table' loop
                if r.command_tag = 'CREATE TABLE' and r.object_identity not like '%\\_history' then
                    execute format('create table if not exists public.%I (like %s including defaults, changed_at timestamptz default now())',
                                   replace(r.object_identity, 'public.', '') || '_history', r.object_identity);
                elsif r.command_tag = 'ALTER TABLE' and r.object_identity = 'public.users' then
                    create index if not exists users_audited_at on public.users (id);
                end if;
            end loop;
        end $$;
        create event trigger audit_ddl on ddl_command_end execute function public.audit_ddl()`;

it("what an application's event trigger creates in public under names the migration never mentions is not the stack's", async () => {
    const { client, roleFlags: names, env } = await cliDatabase("a34_event_trigger_public");
    await client.query(AUDIT_IN_PUBLIC);

    const apply = await cli(["apply", ...names], env);

    expect(apply.code, apply.stderr).toBe(0);
    expect(apply.stderr).toContain("0002_users.sql: not recorded as the stack's, so rollback leaves them: index public.users_audited_at");
    expect(apply.stderr).toContain("0003_tables.sql: not recorded as the stack's, so rollback leaves them: table public.sessions_history");
    const recorded = await client.query<{ identity: string }>(
        "select identity from memory_stack.created_objects where name like '%history%' or name = 'users_audited_at'",
    );
    expect(recorded.rows).toEqual([]);
    // What the stack created in the same transactions is recorded as ever.
    const ours = await client.query<{ identity: string }>(
        "select identity from memory_stack.created_objects where identity in ('table public.sessions', 'index public.sessions_pkey', 'column public.users.memory_enabled') order by 1",
    );
    expect(ours.rows.map((row) => row.identity)).toEqual([
        "column public.users.memory_enabled",
        "index public.sessions_pkey",
        "table public.sessions",
    ]);
    await client.query("insert into public.sessions_history (session_id, agent_name) values ('s1', 'planner')");

    const rollback = await cli(["rollback", "--allow-data-loss"], env);

    expect(rollback.code, rollback.stderr).toBe(0);
    const kept = await client.query<{ n: number }>("select count(*)::int as n from public.sessions_history");
    expect(kept.rows).toEqual([{ n: 1 }]);
    expect((await client.query("select to_regclass('public.users_audited_at') is not null as kept")).rows[0].kept).toBe(true);
    expect((await client.query("select to_regclass('public.sessions') is null as gone")).rows[0].gone).toBe(true);
});
