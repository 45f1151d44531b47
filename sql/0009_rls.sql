-- 0009_rls: row level security that works on plain PostgreSQL 15, not only on Supabase.
-- requires: rls
--
-- auth.uid() reads the caller's user id from the request.jwt.claim.sub setting (or the sub of
-- the request.jwt.claims json), the convention of Supabase and PostgREST. It is created only
-- where no auth.uid() exists, so on Supabase the real one is used. Set the id per transaction,
-- select set_config('request.jwt.claim.sub', '<uuid>', true), which also holds through PgBouncer
-- in transaction mode. No id set: auth.uid() is null and the app role sees no row.
--
-- Policies: the app role reads and writes only rows with its own user_id; the admin role sees
-- and changes everything; audit_logs are readable by the admin role only (the app role may
-- insert its own audit rows). RLS is enabled, not forced: the table owner (the connection that
-- migrates and verifies) keeps full access. Grants on the tables are the access component's job.

do $$
begin
    if not exists (select from pg_roles where rolname = {{app_role_name}}) then
        create role {{app_role}} nologin;
        insert into memory_stack.owned_objects (kind, name) values ('role', {{app_role_name}}) on conflict do nothing;
    end if;
    if not exists (select from pg_roles where rolname = {{admin_role_name}}) then
        create role {{admin_role}} nologin;
        insert into memory_stack.owned_objects (kind, name) values ('role', {{admin_role_name}}) on conflict do nothing;
    end if;
end
$$;

do $$
begin
    if not exists (select from pg_namespace where nspname = 'auth') then
        create schema auth;
        insert into memory_stack.owned_objects (kind, name) values ('schema', 'auth') on conflict do nothing;
    end if;
    if to_regprocedure('auth.uid()') is null then
        create function auth.uid()
        returns uuid
        language sql
        stable
        set search_path = ''
        as $body$
            select coalesce(
                nullif(current_setting('request.jwt.claim.sub', true), ''),
                nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub'
            )::uuid
        $body$;
        comment on function auth.uid() is
            'The calling user''s id from request.jwt.claim.sub (or request.jwt.claims ->> sub); null when unset. Created by memory-stack where no auth.uid() existed.';
        insert into memory_stack.owned_objects (kind, name) values ('function', 'auth.uid') on conflict do nothing;
    end if;
end
$$;

-- Policies call auth.uid() as the querying role.
grant usage on schema auth to {{app_role}}, {{admin_role}};
grant execute on function auth.uid() to {{app_role}}, {{admin_role}};

alter table public.sessions enable row level security;
alter table public.agent_executions enable row level security;
alter table public.memory_logs enable row level security;
alter table public.goal_assessments enable row level security;
alter table public.belief_graphs enable row level security;
alter table public.cognitive_metrics enable row level security;
alter table public.audit_logs enable row level security;

-- (select auth.uid()) is evaluated once per statement, not once per row.
drop policy if exists sessions_own_rows on public.sessions;
create policy sessions_own_rows on public.sessions for all to {{app_role}}
    using (user_id = (select auth.uid())) with check (user_id = (select auth.uid()));
drop policy if exists sessions_admin_all on public.sessions;
create policy sessions_admin_all on public.sessions for all to {{admin_role}} using (true) with check (true);

drop policy if exists agent_executions_own_rows on public.agent_executions;
create policy agent_executions_own_rows on public.agent_executions for all to {{app_role}}
    using (user_id = (select auth.uid())) with check (user_id = (select auth.uid()));
drop policy if exists agent_executions_admin_all on public.agent_executions;
create policy agent_executions_admin_all on public.agent_executions for all to {{admin_role}} using (true) with check (true);

drop policy if exists memory_logs_own_rows on public.memory_logs;
create policy memory_logs_own_rows on public.memory_logs for all to {{app_role}}
    using (user_id = (select auth.uid())) with check (user_id = (select auth.uid()));
drop policy if exists memory_logs_admin_all on public.memory_logs;
create policy memory_logs_admin_all on public.memory_logs for all to {{admin_role}} using (true) with check (true);

drop policy if exists goal_assessments_own_rows on public.goal_assessments;
create policy goal_assessments_own_rows on public.goal_assessments for all to {{app_role}}
    using (user_id = (select auth.uid())) with check (user_id = (select auth.uid()));
drop policy if exists goal_assessments_admin_all on public.goal_assessments;
create policy goal_assessments_admin_all on public.goal_assessments for all to {{admin_role}} using (true) with check (true);

drop policy if exists belief_graphs_own_rows on public.belief_graphs;
create policy belief_graphs_own_rows on public.belief_graphs for all to {{app_role}}
    using (user_id = (select auth.uid())) with check (user_id = (select auth.uid()));
drop policy if exists belief_graphs_admin_all on public.belief_graphs;
create policy belief_graphs_admin_all on public.belief_graphs for all to {{admin_role}} using (true) with check (true);

drop policy if exists cognitive_metrics_own_rows on public.cognitive_metrics;
create policy cognitive_metrics_own_rows on public.cognitive_metrics for all to {{app_role}}
    using (user_id = (select auth.uid())) with check (user_id = (select auth.uid()));
drop policy if exists cognitive_metrics_admin_all on public.cognitive_metrics;
create policy cognitive_metrics_admin_all on public.cognitive_metrics for all to {{admin_role}} using (true) with check (true);

drop policy if exists audit_logs_admin_all on public.audit_logs;
create policy audit_logs_admin_all on public.audit_logs for all to {{admin_role}} using (true) with check (true);
drop policy if exists audit_logs_own_insert on public.audit_logs;
create policy audit_logs_own_insert on public.audit_logs for insert to {{app_role}}
    with check (user_id = (select auth.uid()));
