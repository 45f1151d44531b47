-- rollback: remove exactly what the memory schema added (the seed's rollback plan, made safe).
--
-- Run it in one transaction (psql -1 -f rollback.sql; the migration engine wraps it in its own).
-- Running it again is a no-op. It refuses nothing on its own: the data guard (memory tables
-- holding rows) is the engine's job, before this script runs.
--
-- Differences from the seed's plan: views go before the tables and nothing is dropped with
-- cascade, so an application object built on a memory object stops the rollback with a
-- dependency error instead of vanishing with it. Shared objects (users, its memory columns,
-- auth.uid(), the auth schema, the extensions, roles) are dropped only when
-- memory_stack.owned_objects says this schema created them; an extension, schema or role that
-- something else now depends on is kept, with a notice.

drop view if exists public.user_session_stats;
drop view if exists public.memory_operation_summary;
drop view if exists public.recent_agent_activity;

-- Triggers and policies go with their tables.
drop table if exists public.audit_logs;
drop table if exists public.cognitive_metrics;
drop table if exists public.belief_graphs;
drop table if exists public.goal_assessments;
drop table if exists public.memory_logs;
drop table if exists public.agent_executions;
drop table if exists public.sessions;

-- Without an argument list: whichever variant (jsonb or vector) is installed.
drop function if exists public.match_beliefs;
drop function if exists public.match_goals;
drop function if exists public.embedding_search;
drop function if exists public.derive_embedding_columns;
drop function if exists public.embedding_derived;
drop function if exists public.forget_user;
drop function if exists public.purge_old_logs;
drop function if exists public.close_stale_sessions;
drop function if exists public.get_active_session;
drop function if exists public.close_session;
drop function if exists public.calculate_execution_duration;
drop function if exists public.update_updated_at_column;

do $$
declare
    owned record;
begin
    if to_regclass('memory_stack.owned_objects') is null then
        return; -- already rolled back
    end if;

    for owned in select name from memory_stack.owned_objects where kind = 'column' and name like 'users.%' order by name loop
        if to_regclass('public.users') is not null then
            execute format('alter table public.users drop column if exists %I', substr(owned.name, length('users.') + 1));
        end if;
    end loop;
    if exists (select from memory_stack.owned_objects where kind = 'table' and name = 'users') then
        drop table if exists public.users;
    end if;

    if exists (select from memory_stack.owned_objects where kind = 'function' and name = 'auth.uid') then
        begin
            drop function if exists auth.uid();
        exception when dependent_objects_still_exist then
            raise notice 'kept auth.uid(): other objects use it now';
        end;
    end if;
    if exists (select from memory_stack.owned_objects where kind = 'schema' and name = 'auth') then
        begin
            drop schema if exists auth;
        exception when dependent_objects_still_exist then
            raise notice 'kept schema auth: it holds objects the memory schema did not create';
        end;
    end if;

    -- set by memory-stack on the database (config vectorEfSearch, vectorProbes; engine/migrate/search-settings.ts)
    for owned in select name from memory_stack.owned_objects where kind = 'setting' and name in ('hnsw.ef_search', 'ivfflat.probes') loop
        execute format('alter database %I reset %s', current_database(), owned.name);
    end loop;

    for owned in select name from memory_stack.owned_objects where kind = 'extension' order by name desc loop
        begin
            execute format('drop extension if exists %I', owned.name);
        exception when dependent_objects_still_exist then
            raise notice 'kept extension %: other objects use it now', owned.name;
        end;
    end loop;

    for owned in select name from memory_stack.owned_objects where kind = 'role' order by name loop
        begin
            if exists (select from pg_roles where rolname = owned.name) then
                -- the grants 0009_rls made; anything else granted to the role keeps it alive
                if to_regnamespace('auth') is not null then
                    execute format('revoke usage on schema auth from %I', owned.name);
                end if;
                if to_regprocedure('auth.uid()') is not null then
                    execute format('revoke execute on function auth.uid() from %I', owned.name);
                end if;
                execute format('drop role %I', owned.name);
            end if;
        exception when dependent_objects_still_exist then
            raise notice 'kept role %: it still holds privileges or owns objects (here or in another database)', owned.name;
        end;
    end loop;

    drop table memory_stack.owned_objects;
end
$$;
