// BUG on 0b697ca: an application's event trigger (created by a superuser, as audit tools do) that makes a history table
// per new table: `on ddl_command_end` it ran `create table audit.<table>_history (like <table>, …)` inside the migration's
// own transaction, so the catalog rows had the migration's xmin and the engine recorded audit.sessions_history and the
// others as the stack's. Rollback then dropped them, and with --allow-data-loss their rows: the application's audit
// history. What a migration's transaction creates outside the schemas the memory schema creates in (public,
// memory_stack, auth) is now not recorded, and the apply says so. (One creating in public under names the file never
// mentions: attack34-event-trigger-public.test.ts.)
import { expect, it } from "vitest";
import { cli } from "../support/cli";
import { cliDatabases } from "../support/cli-database";

const cliDatabase = cliDatabases();

/** An audit tool's event trigger: a history table in schema audit for every table created in public. */
const HISTORY_PER_TABLE = `create schema audit;
        create function audit.history_per_table() returns event_trigger language plpgsql as $$
        declare r record;
        begin
            for r in select * from pg_event_trigger_ddl_commands() where command_tag = 'CREATE TABLE' and schema_name = 'public' loop
                execute format('create table if not exists audit.%I (like %s including defaults, changed_at timestamptz default now())',
                               replace(r.object_identity, 'public.', '') || '_history', r.object_identity);
            end loop;
        end $$;
        create event trigger history_per_table on ddl_command_end execute function audit.history_per_table()`;

it("what an application's event trigger creates in its own schema in the migration's transaction is not the stack's", async () => {
    const { client, roleFlags: names, env } = await cliDatabase("a28_event_trigger");
    await client.query(HISTORY_PER_TABLE);

    const apply = await cli(["apply", ...names], env);

    expect(apply.code, apply.stderr).toBe(0);
    expect(apply.stderr).toContain("0003_tables.sql: not recorded as the stack's, so rollback leaves them: table audit.sessions_history");
    const recorded = await client.query("select identity from memory_stack.created_objects where schema_name = 'audit'");
    expect(recorded.rows).toEqual([]);
    await client.query("insert into audit.sessions_history (session_id, agent_name) values ('s1', 'planner')");

    const rollback = await cli(["rollback", "--allow-data-loss"], env);

    expect(rollback.code, rollback.stderr).toBe(0);
    const kept = await client.query<{ n: number }>("select count(*)::int as n from audit.sessions_history");
    expect(kept.rows).toEqual([{ n: 1 }]);
    expect((await client.query("select to_regclass('public.sessions') is null as gone")).rows[0].gone).toBe(true);
});

it("nor what it creates while apply --repair re-runs a migration", async () => {
    const { client, roleFlags: names, env } = await cliDatabase("a28_event_trigger_repair");
    await client.query(HISTORY_PER_TABLE);
    const apply = await cli(["apply", ...names], env);
    expect(apply.code, apply.stderr).toBe(0);
    // Dropped by hand, the memory table and the application's history of it: the repair re-creates the table, and the
    // event trigger its history table, in the re-run's transaction.
    await client.query("drop table public.cognitive_metrics; drop table audit.cognitive_metrics_history");

    const repair = await cli(["apply", "--repair", ...names], env);

    expect(repair.code, repair.stderr).toBe(0);
    expect(repair.stderr).toContain("not recorded as the stack's, so rollback leaves them: table audit.cognitive_metrics_history");
    const recorded = await client.query("select identity from memory_stack.created_objects where schema_name = 'audit'");
    expect(recorded.rows).toEqual([]);
});
