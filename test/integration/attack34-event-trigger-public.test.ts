// BUG on 6b0c820: an application's event trigger creating *in public* inside a migration's transaction had what it made
// recorded as the stack's (docs/migrations-safety.md said to disable it for the deploy): an audit tool's history table
// per new table (public.sessions_history, with the application's audit rows), its audit trigger on each new table, and
// an index it adds to a table whenever it is altered (the application's own users, which 0002 gives the memory
// columns). Rollback dropped them all, the history with its rows, and an application that dropped its audit trigger
// had the stack report drift and re-run migrations to "repair" it. In public, what the migration's file names nowhere
// (implicit parts of the stack's tables aside) is now not recorded, and the apply says so; the audit triggers on the
// memory tables are then the application's objects on the stack's tables, which stop a rollback like any other.
import { expect, it } from "vitest";
import { cli } from "../support/cli";
import { cliDatabases } from "../support/cli-database";

const cliDatabase = cliDatabases();

const AUDIT_IN_PUBLIC = `create table public.users (id uuid primary key, email text);
        create function public.audit_row() returns trigger language plpgsql as $$ begin return null; end $$;
        create function public.audit_ddl() returns event_trigger language plpgsql as $$
        declare r record;
        begin
            for r in select * from pg_event_trigger_ddl_commands() where schema_name = 'public' and object_type = 'table' loop
                if r.command_tag = 'CREATE TABLE' and r.object_identity not like '%\\_history' then
                    execute format('create table if not exists public.%I (like %s including defaults, changed_at timestamptz default now())',
                                   replace(r.object_identity, 'public.', '') || '_history', r.object_identity);
                    execute format('create trigger %I after insert or update or delete on %s for each row execute function public.audit_row()',
                                   replace(r.object_identity, 'public.', '') || '_audit', r.object_identity);
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
    expect(apply.stderr).toContain("trigger public.sessions.sessions_audit");
    const recorded = await client.query<{ identity: string }>(
        "select identity from memory_stack.created_objects where name like '%history%' or name like '%\\_audit' or name = 'users_audited_at'",
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

    const refused = await cli(["rollback", "--allow-data-loss"], env);

    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain("drop trigger sessions_audit on public.sessions");
    await client.query(`do $$ declare t record;
        begin
            for t in select tgname, tgrelid::regclass as tbl from pg_trigger where tgname like '%\\_audit' loop
                execute format('drop trigger %I on %s', t.tgname, t.tbl);
            end loop;
        end $$`);
    // Dropped by the application, its triggers are no drift: nothing to repair.
    const repair = await cli(["apply", "--repair", ...names], env);
    expect(repair.code, repair.stderr).toBe(0);
    expect(repair.stderr).not.toContain("repaired");
    const rollback = await cli(["rollback", "--allow-data-loss"], env);

    expect(rollback.code, rollback.stderr).toBe(0);
    const kept = await client.query<{ n: number }>("select count(*)::int as n from public.sessions_history");
    expect(kept.rows).toEqual([{ n: 1 }]);
    expect((await client.query("select to_regclass('public.users_audited_at') is not null as kept")).rows[0].kept).toBe(true);
    expect((await client.query("select to_regclass('public.sessions') is null as gone")).rows[0].gone).toBe(true);
});
