-- 0006_views: the seed's three reporting views.
--
-- security_invoker (PostgreSQL 15+) makes a view read its tables as the caller, so row level
-- security applies through the view; without it the view would read as its owner and show
-- every user's rows to the app role.

create or replace view public.recent_agent_activity
with (security_invoker = true)
as
select
    e.id as execution_id,
    e.agent_name,
    e.status,
    e.model,
    e.started_at,
    e.completed_at,
    e.duration_ms,
    e.tokens_input,
    e.tokens_output,
    e.cost_usd,
    e.error_message,
    e.session_id,
    s.session_id as session_key,
    s.status as session_status,
    e.user_id,
    -- users may be the application's own table: read email without requiring the column
    to_jsonb(u) ->> 'email' as user_email
from public.agent_executions e
left join public.sessions s on s.id = e.session_id
left join public.users u on u.id = e.user_id
order by e.started_at desc;
comment on view public.recent_agent_activity is 'Agent executions with their session and user, newest first.';

create or replace view public.memory_operation_summary
with (security_invoker = true)
as
select
    m.agent_name,
    m.operation,
    (m.created_at at time zone 'UTC')::date as operation_date,
    count(*) as total_operations,
    count(*) filter (where m.success) as successful_operations,
    (count(*) filter (where m.success))::double precision / count(*) as success_rate,
    avg(m.latency_ms)::double precision as avg_latency_ms
from public.memory_logs m
group by m.agent_name, m.operation, (m.created_at at time zone 'UTC')::date;
comment on view public.memory_operation_summary is
    'Memory operations per agent, operation and UTC day: count, success rate (0..1) and mean latency.';

create or replace view public.user_session_stats
with (security_invoker = true)
as
select
    s.user_id,
    count(*) as total_sessions,
    count(*) filter (where s.status = 'active') as active_sessions,
    count(*) filter (where s.status = 'completed') as completed_sessions,
    count(*) filter (where s.status = 'failed') as failed_sessions,
    count(*) filter (where s.status = 'timeout') as timeout_sessions,
    max(s.started_at) as last_session_at
from public.sessions s
where s.user_id is not null
group by s.user_id;
comment on view public.user_session_stats is 'Per user: total, active, completed, failed and timed-out sessions, and when the last one started.';
