-- 0007_maintenance: the housekeeping the seed asks for, each function returning what it changed.
--
-- They run as the caller (security invoker): the owner or the admin role sees every row, while
-- an app-role caller under row level security can only touch its own user's rows. Schedule them
-- with pg_cron or an external job, e.g. select * from public.close_stale_sessions('24 hours').

create or replace function public.close_stale_sessions(max_age interval default interval '24 hours')
returns table (id uuid, session_id text, user_id uuid)
language plpgsql
set search_path = ''
as $$
begin
    if max_age is null or max_age < interval '0' then
        raise exception 'close_stale_sessions: max_age must be a non-negative interval, not %', coalesce(max_age::text, 'null')
            using errcode = 'invalid_parameter_value';
    end if;
    return query
        update public.sessions s
        set status = 'timeout', ended_at = now()
        where s.status = 'active' and s.started_at < now() - max_age
        returning s.id, s.session_id, s.user_id;
end
$$;
comment on function public.close_stale_sessions(interval) is
    'Sets status timeout and ended_at on sessions active for longer than max_age (started before now() - max_age); returns the closed sessions.';

create or replace function public.purge_old_logs(
    memory_retention interval default interval '90 days',
    audit_retention interval default interval '365 days'
)
returns table (table_name text, deleted bigint)
language plpgsql
set search_path = ''
as $$
declare
    n bigint;
begin
    if memory_retention is null or memory_retention < interval '0'
       or audit_retention is null or audit_retention < interval '0' then
        raise exception 'purge_old_logs: retention intervals must be non-negative, not % and %',
            coalesce(memory_retention::text, 'null'), coalesce(audit_retention::text, 'null')
            using errcode = 'invalid_parameter_value';
    end if;
    delete from public.memory_logs m where m.created_at < now() - memory_retention;
    get diagnostics n = row_count;
    table_name := 'memory_logs'; deleted := n; return next;
    delete from public.audit_logs a where a.created_at < now() - audit_retention;
    get diagnostics n = row_count;
    table_name := 'audit_logs'; deleted := n; return next;
end
$$;
comment on function public.purge_old_logs(interval, interval) is
    'Deletes memory_logs older than memory_retention and audit_logs older than audit_retention; returns one row per table with the number deleted.';

-- Children are deleted before parents so every count is exact rather than hidden in a cascade.
create or replace function public.forget_user(target_user_id uuid)
returns table (table_name text, action text, affected bigint)
language plpgsql
set search_path = ''
as $$
declare
    n bigint;
begin
    if target_user_id is null then
        raise exception 'forget_user: target_user_id must not be null' using errcode = 'invalid_parameter_value';
    end if;
    delete from public.cognitive_metrics t where t.user_id = target_user_id;
    get diagnostics n = row_count; table_name := 'cognitive_metrics'; action := 'deleted'; affected := n; return next;
    delete from public.memory_logs t where t.user_id = target_user_id;
    get diagnostics n = row_count; table_name := 'memory_logs'; action := 'deleted'; affected := n; return next;
    delete from public.goal_assessments t where t.user_id = target_user_id;
    get diagnostics n = row_count; table_name := 'goal_assessments'; action := 'deleted'; affected := n; return next;
    delete from public.belief_graphs t where t.user_id = target_user_id;
    get diagnostics n = row_count; table_name := 'belief_graphs'; action := 'deleted'; affected := n; return next;
    delete from public.agent_executions t where t.user_id = target_user_id;
    get diagnostics n = row_count; table_name := 'agent_executions'; action := 'deleted'; affected := n; return next;
    delete from public.sessions t where t.user_id = target_user_id;
    get diagnostics n = row_count; table_name := 'sessions'; action := 'deleted'; affected := n; return next;
    update public.audit_logs t set user_id = null where t.user_id = target_user_id;
    get diagnostics n = row_count; table_name := 'audit_logs'; action := 'anonymized'; affected := n; return next;
    update public.users u
    set memory_preferences = '{}'::jsonb, last_memory_activity_at = null
    where u.id = target_user_id
      and (u.memory_preferences is distinct from '{}'::jsonb or u.last_memory_activity_at is not null);
    get diagnostics n = row_count; table_name := 'users'; action := 'memory columns cleared'; affected := n; return next;
end
$$;
comment on function public.forget_user(uuid) is
    'GDPR erasure of a user''s memory: deletes their rows in the six memory tables, sets user_id null on their audit rows and clears their memory columns on users (the users row itself stays); returns one row per table with the action and row count.';
