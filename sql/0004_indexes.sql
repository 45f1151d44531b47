-- 0004_indexes: the indexes of the seven memory tables.
--
-- With the 7 primary keys and sessions_session_id_key from 0003 this makes exactly 49 (the
-- seed's count; components/schema/manifest.ts lists them by name). Each one serves something:
-- every foreign key column (joins, and on-delete cascades without a scan), the filter and time
-- columns the views, get_active_session and the maintenance functions use, and a GIN index on
-- every tags array. The vector variant adds one ANN index per embedding column (0010_vector).

-- sessions: user_session_stats and forget_user (user_id), close_stale_sessions (status, started_at)
create index if not exists idx_sessions_user_id on public.sessions (user_id);
create index if not exists idx_sessions_agent_name on public.sessions (agent_name);
create index if not exists idx_sessions_status on public.sessions (status);
create index if not exists idx_sessions_started_at on public.sessions (started_at desc);
-- get_active_session: the newest active session of a user and agent, from a small partial index
create index if not exists idx_sessions_active_lookup on public.sessions (user_id, agent_name, started_at desc)
    where status = 'active';

-- agent_executions: recent_agent_activity reads newest first
create index if not exists idx_agent_executions_session_id on public.agent_executions (session_id);
create index if not exists idx_agent_executions_user_id on public.agent_executions (user_id);
create index if not exists idx_agent_executions_agent_name on public.agent_executions (agent_name);
create index if not exists idx_agent_executions_status on public.agent_executions (status);
create index if not exists idx_agent_executions_started_at on public.agent_executions (started_at desc);
create index if not exists idx_agent_executions_tags on public.agent_executions using gin (tags);

-- memory_logs: memory_operation_summary (agent, operation, day) and purge_old_logs (created_at)
create index if not exists idx_memory_logs_session_id on public.memory_logs (session_id);
create index if not exists idx_memory_logs_user_id on public.memory_logs (user_id);
create index if not exists idx_memory_logs_agent_name on public.memory_logs (agent_name);
create index if not exists idx_memory_logs_operation on public.memory_logs (operation);
create index if not exists idx_memory_logs_memory_key on public.memory_logs (memory_key);
create index if not exists idx_memory_logs_created_at on public.memory_logs (created_at desc);
create index if not exists idx_memory_logs_tags on public.memory_logs using gin (tags);

-- goal_assessments
create index if not exists idx_goal_assessments_user_id on public.goal_assessments (user_id);
create index if not exists idx_goal_assessments_session_id on public.goal_assessments (session_id);
create index if not exists idx_goal_assessments_agent_name on public.goal_assessments (agent_name);
create index if not exists idx_goal_assessments_status on public.goal_assessments (status);
create index if not exists idx_goal_assessments_priority on public.goal_assessments (priority desc);
create index if not exists idx_goal_assessments_target_date on public.goal_assessments (target_date);
create index if not exists idx_goal_assessments_tags on public.goal_assessments using gin (tags);

-- belief_graphs: triple lookup by subject and predicate, strongest and freshest beliefs first
create index if not exists idx_belief_graphs_user_id on public.belief_graphs (user_id);
create index if not exists idx_belief_graphs_agent_name on public.belief_graphs (agent_name);
create index if not exists idx_belief_graphs_subject_predicate on public.belief_graphs (subject, predicate);
create index if not exists idx_belief_graphs_confidence on public.belief_graphs (confidence desc);
create index if not exists idx_belief_graphs_last_reinforced_at on public.belief_graphs (last_reinforced_at desc);
create index if not exists idx_belief_graphs_tags on public.belief_graphs using gin (tags);

-- cognitive_metrics
create index if not exists idx_cognitive_metrics_session_id on public.cognitive_metrics (session_id);
create index if not exists idx_cognitive_metrics_execution_id on public.cognitive_metrics (execution_id);
create index if not exists idx_cognitive_metrics_user_id on public.cognitive_metrics (user_id);
create index if not exists idx_cognitive_metrics_agent_name on public.cognitive_metrics (agent_name);
create index if not exists idx_cognitive_metrics_metric_name on public.cognitive_metrics (metric_name);
create index if not exists idx_cognitive_metrics_recorded_at on public.cognitive_metrics (recorded_at desc);

-- audit_logs: purge_old_logs (created_at), lookups by resource
create index if not exists idx_audit_logs_user_id on public.audit_logs (user_id);
create index if not exists idx_audit_logs_action on public.audit_logs (action);
create index if not exists idx_audit_logs_resource on public.audit_logs (resource_type, resource_id);
create index if not exists idx_audit_logs_created_at on public.audit_logs (created_at desc);
