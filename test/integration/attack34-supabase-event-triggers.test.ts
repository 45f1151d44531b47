// Supabase's own event triggers go on working through an apply, a repair and a rollback, and nothing they do changes
// what the stack records: pgrst_ddl_watch and pgrst_drop_watch (as Supabase defines them) tell PostgREST to reload its
// schema cache after the stack's DDL. What tells an application's event trigger's objects apart
// (engine/migrate/not-the-stacks.ts) decides what is recorded only; it must never stop or disable a trigger.
import type { Notification } from "pg";
import { expect, it } from "vitest";
import { cli } from "../support/cli";
import { cliDatabases } from "../support/cli-database";
import { until } from "../support/poll";

const cliDatabase = cliDatabases();

const SUPABASE_WATCHES = `create schema extensions;
    create function extensions.pgrst_ddl_watch() returns event_trigger language plpgsql as $$
    declare cmd record;
    begin
        for cmd in select * from pg_event_trigger_ddl_commands() loop
            if cmd.command_tag in ('CREATE SCHEMA', 'ALTER SCHEMA', 'CREATE TABLE', 'CREATE TABLE AS', 'SELECT INTO', 'ALTER TABLE',
                                   'CREATE FOREIGN TABLE', 'ALTER FOREIGN TABLE', 'CREATE VIEW', 'ALTER VIEW', 'CREATE MATERIALIZED VIEW',
                                   'ALTER MATERIALIZED VIEW', 'CREATE FUNCTION', 'ALTER FUNCTION', 'CREATE TRIGGER', 'CREATE TYPE',
                                   'ALTER TYPE', 'CREATE RULE', 'COMMENT')
               and cmd.schema_name is distinct from 'pg_temp' then
                notify pgrst, 'reload schema';
            end if;
        end loop;
    end $$;
    create function extensions.pgrst_drop_watch() returns event_trigger language plpgsql as $$
    declare obj record;
    begin
        for obj in select * from pg_event_trigger_dropped_objects() loop
            if obj.object_type in ('schema', 'table', 'foreign table', 'view', 'materialized view', 'function', 'trigger', 'type', 'rule')
               and obj.is_temporary is false then
                notify pgrst, 'reload schema';
            end if;
        end loop;
    end $$;
    create event trigger pgrst_ddl_watch on ddl_command_end execute function extensions.pgrst_ddl_watch();
    create event trigger pgrst_drop_watch on sql_drop execute function extensions.pgrst_drop_watch()`;

it("apply, repair and rollback leave Supabase's event triggers firing and record exactly the stack's objects", async () => {
    const { client, db, roleFlags: names, env } = await cliDatabase("a34_supabase_watch");
    await client.query(SUPABASE_WATCHES);
    const listener = await db.connect();
    const reloads: Notification[] = [];
    listener.on("notification", (notification) => reloads.push(notification));
    await listener.query("listen pgrst");
    try {
        const apply = await cli(["apply", ...names], env);

        expect(apply.code, apply.stderr).toBe(0);
        expect(apply.stderr).not.toContain("not recorded");
        await until("a schema reload after the apply", () => (reloads.length > 0 ? true : undefined));
        const outsideOrUnnamed = await client.query(
            "select identity from memory_stack.created_objects where schema_name is not null and schema_name not in ('public', 'memory_stack', 'auth')",
        );
        expect(outsideOrUnnamed.rows).toEqual([]);
        const counted = await client.query<{ n: number }>("select count(*)::int as n from memory_stack.created_objects");

        reloads.length = 0;
        await client.query("drop index public.idx_sessions_status; drop function public.close_session");
        const repair = await cli(["apply", "--repair", ...names], env);

        expect(repair.code, repair.stderr).toBe(0);
        expect(repair.stderr).not.toContain("not recorded");
        expect((await client.query<{ n: number }>("select count(*)::int as n from memory_stack.created_objects")).rows).toEqual(
            counted.rows,
        );
        await until("a schema reload after the repair", () => (reloads.length > 0 ? true : undefined));

        reloads.length = 0;
        const rollback = await cli(["rollback", "--allow-data-loss"], env);

        expect(rollback.code, rollback.stderr).toBe(0);
        await until("a schema reload after the rollback", () => (reloads.length > 0 ? true : undefined));
        const watches = await client.query("select evtname, evtenabled from pg_event_trigger order by evtname");
        expect(watches.rows).toEqual([
            { evtname: "pgrst_ddl_watch", evtenabled: "O" },
            { evtname: "pgrst_drop_watch", evtenabled: "O" },
        ]);
    } finally {
        await listener.end();
    }
});
