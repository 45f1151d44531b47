-- 0011_claim_binding: a user id is honoured only for the transaction that set it, and a row may
-- reference only its own user's session and execution.
-- requires: rls
--
-- PostgreSQL 15 cannot tell set_config(..., true) from set_config(..., false) by reading the
-- setting, so a plain request.jwt.claim.sub that one client set for its whole session would be
-- read by every later client of the same pooled connection. The policies therefore ask
-- memory_stack.request_user_id(), which returns:
--   1. the id given to memory_stack.bind_user(id) in this very transaction: bind_user records it
--      with the backend pid and the transaction's start time, which no later transaction shares,
--      so an id left behind at session level is ignored;
--   2. otherwise request.jwt.claim.sub (or the sub of request.jwt.claims), but only for a session
--      whose login role was granted EXECUTE on memory_stack.trust_plain_claims() (PostgREST's
--      authenticator on Supabase: it sets the claims per transaction itself), or of the owner. The
--      login is session_user, which no client can change without being a superuser, and only the
--      owner can grant the switch, so no client can trust itself: no setting, startup option or
--      pooler turns plain claims on. Behind the stack's PgBouncer the application binds with
--      bind_user like everywhere else; the pooler's reset after every transaction is defence in depth;
--   3. otherwise null: no row is visible and no row can be written.
-- Where this schema created auth.uid(), it gets the same body, so the application's own policies
-- that call auth.uid() are as safe; Supabase's own auth.uid() is left alone.
--
-- The app role's policies also check, on every insert and update, that a session_id or
-- execution_id points at a session or execution of the same user: no row can hang off another
-- user's session (which a cascade would delete, and whose existence an error would reveal).

create or replace function memory_stack.trust_plain_claims()
returns boolean
language sql
immutable
set search_path = ''
as $$
    select true
$$;
comment on function memory_stack.trust_plain_claims() is
    'A switch, not a query: request.jwt.claim.sub is trusted without bind_user for a login role granted EXECUTE on this function (PostgREST''s authenticator). Revoked from PUBLIC.';
revoke all on function memory_stack.trust_plain_claims() from public;
-- Nor may default privileges hand it out (Supabase's grant new functions to its roles): only the
-- owner holds it until it grants it to the logins plainClaimLogins names.
do $$
declare
    grantee name;
begin
    for grantee in
        select r.rolname from pg_proc p cross join lateral aclexplode(p.proacl) a join pg_roles r on r.oid = a.grantee
        where p.oid = 'memory_stack.trust_plain_claims()'::regprocedure and a.grantee <> p.proowner
    loop
        execute format('revoke all on function memory_stack.trust_plain_claims() from %I', grantee);
    end loop;
end
$$;

create or replace function memory_stack.request_user_id()
returns uuid
language sql
stable
set search_path = ''
as $$
    -- Nothing is cast before its branch is chosen: a malformed value left behind at session level
    -- fails no later transaction, it only counts for nothing.
    select case
        when split_part(bound, ' ', 1) = pg_backend_pid()::text and split_part(bound, ' ', 2) = extract(epoch from now())::text
            then nullif(split_part(bound, ' ', 3), '')::uuid
        when coalesce(has_function_privilege(session_user, to_regprocedure('memory_stack.trust_plain_claims()'), 'execute'), false)
            then coalesce(
                nullif(current_setting('request.jwt.claim.sub', true), ''),
                nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub'
            )::uuid
    end
    from coalesce(current_setting('memory_stack.bound_user', true), '') as bound
$$;
comment on function memory_stack.request_user_id() is
    'The user the row level security policies serve: the id bound to this transaction by bind_user, else a plain request.jwt.claim.sub for a login granted trust_plain_claims (or the owner), else null.';

create or replace function memory_stack.bind_user(user_id uuid)
returns uuid
language plpgsql
set search_path = ''
as $$
begin
    if user_id is null then
        raise exception 'bind_user: user_id must not be null; to act as no user, do not bind one'
            using errcode = 'invalid_parameter_value';
    end if;
    perform set_config('memory_stack.bound_user', pg_backend_pid() || ' ' || extract(epoch from now()) || ' ' || user_id, true);
    -- Also the plain claim, transaction-local, for code that reads it (Supabase's auth.uid()).
    perform set_config('request.jwt.claim.sub', user_id::text, true);
    return user_id;
end
$$;
comment on function memory_stack.bind_user(uuid) is
    'Acts as user_id for the rest of the current transaction, and for nothing after it. Call it once per transaction, after begin.';

revoke all on function memory_stack.request_user_id(), memory_stack.bind_user(uuid) from public;
grant usage on schema memory_stack to {{app_role}}, {{admin_role}};
grant execute on function memory_stack.request_user_id(), memory_stack.bind_user(uuid) to {{app_role}}, {{admin_role}};

-- Ours only: a copy of request_user_id's body, so that an application policy calling auth.uid()
-- keeps working, and failing closed, even should the rollback have to keep auth.uid() for it.
do $$
begin
    if exists (select from memory_stack.owned_objects where kind = 'function' and name = 'auth.uid') then
        execute format(
            'create or replace function auth.uid() returns uuid language sql stable set search_path = '''' as %L',
            (select prosrc from pg_proc where oid = 'memory_stack.request_user_id()'::regprocedure)
        );
        comment on function auth.uid() is
            'The calling user''s id, as memory_stack.request_user_id() gives it. Created by memory-stack where no auth.uid() existed.';
    end if;
end
$$;

-- (select ...) is evaluated once per statement, not once per row.
drop policy if exists sessions_own_rows on public.sessions;
create policy sessions_own_rows on public.sessions for all to {{app_role}}
    using (user_id = (select memory_stack.request_user_id()))
    with check (user_id = (select memory_stack.request_user_id()));

drop policy if exists agent_executions_own_rows on public.agent_executions;
create policy agent_executions_own_rows on public.agent_executions for all to {{app_role}}
    using (user_id = (select memory_stack.request_user_id()))
    with check (
        user_id = (select memory_stack.request_user_id())
        and (agent_executions.session_id is null or exists (
            select from public.sessions s
            where s.id = agent_executions.session_id and s.user_id = (select memory_stack.request_user_id())))
    );

drop policy if exists memory_logs_own_rows on public.memory_logs;
create policy memory_logs_own_rows on public.memory_logs for all to {{app_role}}
    using (user_id = (select memory_stack.request_user_id()))
    with check (
        user_id = (select memory_stack.request_user_id())
        and (memory_logs.session_id is null or exists (
            select from public.sessions s
            where s.id = memory_logs.session_id and s.user_id = (select memory_stack.request_user_id())))
    );

drop policy if exists goal_assessments_own_rows on public.goal_assessments;
create policy goal_assessments_own_rows on public.goal_assessments for all to {{app_role}}
    using (user_id = (select memory_stack.request_user_id()))
    with check (
        user_id = (select memory_stack.request_user_id())
        and (goal_assessments.session_id is null or exists (
            select from public.sessions s
            where s.id = goal_assessments.session_id and s.user_id = (select memory_stack.request_user_id())))
    );

drop policy if exists belief_graphs_own_rows on public.belief_graphs;
create policy belief_graphs_own_rows on public.belief_graphs for all to {{app_role}}
    using (user_id = (select memory_stack.request_user_id()))
    with check (user_id = (select memory_stack.request_user_id()));

drop policy if exists cognitive_metrics_own_rows on public.cognitive_metrics;
create policy cognitive_metrics_own_rows on public.cognitive_metrics for all to {{app_role}}
    using (user_id = (select memory_stack.request_user_id()))
    with check (
        user_id = (select memory_stack.request_user_id())
        and (cognitive_metrics.session_id is null or exists (
            select from public.sessions s
            where s.id = cognitive_metrics.session_id and s.user_id = (select memory_stack.request_user_id())))
        and (cognitive_metrics.execution_id is null or exists (
            select from public.agent_executions e
            where e.id = cognitive_metrics.execution_id and e.user_id = (select memory_stack.request_user_id())))
    );

drop policy if exists audit_logs_own_insert on public.audit_logs;
create policy audit_logs_own_insert on public.audit_logs for insert to {{app_role}}
    with check (user_id = (select memory_stack.request_user_id()));
