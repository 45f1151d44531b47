// BUG on 6b0c820: apply --repair re-runs a migration that declares steps (0014's `search` step re-creates
// public.embedding_search) through rerunSteps, whose transactions recorded what they created without the filter apply and
// a plain migration's re-run have: an application's event trigger answering `create function` with a table in its own
// schema, in the step's transaction, had that table recorded as the stack's, and rollback dropped it with its rows.
import { expect, it } from "vitest";
import { cli } from "../support/cli";
import { cliDatabases } from "../support/cli-database";

const cliDatabase = cliDatabases();

/** An application's event trigger: a call log table in schema audit for every function created in public. */
const CALLS_PER_FUNCTION = `create schema audit;
        create function audit.calls_per_function() returns event_trigger language plpgsql as $$
        declare r record;
        begin
            for r in select * from pg_event_trigger_ddl_commands() where command_tag = 'CREATE FUNCTION' and schema_name = 'public' loop
                execute format('create table if not exists audit.%I (called_at timestamptz default now())',
                               (select proname from pg_proc where oid = r.objid) || '_calls');
            end loop;
        end $$;
        create event trigger calls_per_function on ddl_command_end execute function audit.calls_per_function()`;

it("what an application's event trigger creates outside the memory schemas while repair re-runs a stepped migration is not the stack's", async () => {
    const { client, roleFlags: names, env } = await cliDatabase("a34_rerun_steps");
    await client.query(CALLS_PER_FUNCTION);
    const apply = await cli(["apply", ...names], env);
    expect(apply.code, apply.stderr).toBe(0);
    // Dropped by hand, the function 0014's `search` step creates and the application's log of it: the repair re-runs 0014
    // step by step, and the event trigger makes the log table again in that step's transaction.
    await client.query("drop function public.embedding_search; drop table audit.embedding_search_calls");
    const owner = await client.query(
        "select migration from memory_stack.created_objects where identity like 'function public.embedding_search(%'",
    );
    expect(owner.rows).toEqual([{ migration: "0014_similarity_jsonb_fast.sql" }]);

    const repair = await cli(["apply", "--repair", ...names], env);

    expect(repair.code, repair.stderr).toBe(0);
    expect(repair.stderr).toContain(
        "0014_similarity_jsonb_fast.sql: not recorded as the stack's, so rollback leaves them: table audit.embedding_search_calls",
    );
    const recorded = await client.query("select identity from memory_stack.created_objects where schema_name = 'audit'");
    expect(recorded.rows).toEqual([]);
    await client.query("insert into audit.embedding_search_calls default values");

    const rollback = await cli(["rollback", "--allow-data-loss"], env);

    expect(rollback.code, rollback.stderr).toBe(0);
    const kept = await client.query<{ n: number }>("select count(*)::int as n from audit.embedding_search_calls");
    expect(kept.rows).toEqual([{ n: 1 }]);
});
