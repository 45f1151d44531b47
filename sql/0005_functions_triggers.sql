-- 0005_functions_triggers: the seed's four functions and four triggers.
--
-- Functions run as the caller (security invoker), so row level security applies to them, and
-- pin search_path with every name qualified, so a caller's search_path cannot redirect them.

create or replace function public.update_updated_at_column()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
    new.updated_at := now();
    return new;
end
$$;
comment on function public.update_updated_at_column() is 'Trigger function: sets updated_at to the transaction time on every update.';

-- An execution that reaches a final status without completed_at gets one, so duration_ms is
-- always there for finished runs. A completed_at before started_at (client clock skew) counts 0.
create or replace function public.calculate_execution_duration()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
    if new.completed_at is null and new.status in ('completed', 'failed', 'cancelled') then
        new.completed_at := now();
    end if;
    if new.completed_at is not null then
        new.duration_ms := greatest(0, round(extract(epoch from (new.completed_at - new.started_at)) * 1000))::integer;
    end if;
    return new;
end
$$;
comment on function public.calculate_execution_duration() is
    'Trigger function: sets completed_at when an execution finishes and duration_ms = completed_at - started_at in milliseconds.';

create or replace function public.get_active_session(user_id uuid, agent_name text)
returns uuid
language sql
stable
set search_path = ''
as $$
    select s.id
    from public.sessions s
    where s.user_id = get_active_session.user_id
      and s.agent_name = get_active_session.agent_name
      and s.status = 'active'
    order by s.started_at desc
    limit 1
$$;
comment on function public.get_active_session(uuid, text) is
    'The newest active session of a user with an agent, or null (served by idx_sessions_active_lookup).';

create or replace function public.close_session(session_id uuid, status text default 'completed')
returns boolean
language plpgsql
set search_path = ''
as $$
begin
    if close_session.status is null or close_session.status not in ('completed', 'failed', 'timeout') then
        raise exception 'close_session: status must be completed, failed or timeout, not %', coalesce(quote_literal(close_session.status), 'null')
            using errcode = 'invalid_parameter_value';
    end if;
    update public.sessions s
    set status = close_session.status, ended_at = now()
    where s.id = close_session.session_id and s.status = 'active';
    return found;
end
$$;
comment on function public.close_session(uuid, text) is
    'Ends an active session with status completed, failed or timeout; true when a session was closed, false when none was active.';

create or replace trigger update_sessions_updated_at
    before update on public.sessions
    for each row execute function public.update_updated_at_column();
create or replace trigger update_goal_assessments_updated_at
    before update on public.goal_assessments
    for each row execute function public.update_updated_at_column();
create or replace trigger update_belief_graphs_updated_at
    before update on public.belief_graphs
    for each row execute function public.update_updated_at_column();
create or replace trigger calculate_agent_execution_duration
    before insert or update on public.agent_executions
    for each row execute function public.calculate_execution_duration();
