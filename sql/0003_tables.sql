-- 0003_tables: the seven memory tables, with their checks and foreign keys.
--
-- Every enumerated status and every 0..1 score has a named check constraint, so a bad value
-- fails with a message naming the rule. On delete: a user's memory goes with the user
-- (cascade), an execution goes with its session, rows that outlive a session (memory logs,
-- goals, metrics) keep a null session, and audit rows keep a null user.
-- Embeddings are jsonb arrays here; 0010_vector (vector variant only) converts them to vector(N).

create table if not exists public.sessions (
    id uuid primary key default uuid_generate_v4(),
    session_id text not null constraint sessions_session_id_key unique,
    user_id uuid references public.users (id) on delete cascade,
    agent_name text not null,
    status text not null default 'active'
        constraint sessions_status_check check (status in ('active', 'completed', 'failed', 'timeout')),
    context jsonb not null default '{}'::jsonb,
    metadata jsonb not null default '{}'::jsonb,
    started_at timestamptz not null default now(),
    ended_at timestamptz,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);
comment on table public.sessions is 'Agent sessions, active and historical; session_id is the application''s own key.';

create table if not exists public.agent_executions (
    id uuid primary key default uuid_generate_v4(),
    session_id uuid references public.sessions (id) on delete cascade,
    user_id uuid references public.users (id) on delete cascade,
    agent_name text not null,
    status text not null default 'running'
        constraint agent_executions_status_check check (status in ('running', 'completed', 'failed', 'cancelled')),
    input jsonb,
    output jsonb,
    error_message text,
    model text,
    tokens_input integer constraint agent_executions_tokens_input_check check (tokens_input >= 0),
    tokens_output integer constraint agent_executions_tokens_output_check check (tokens_output >= 0),
    cost_usd numeric(12, 6) constraint agent_executions_cost_usd_check check (cost_usd >= 0),
    started_at timestamptz not null default now(),
    completed_at timestamptz,
    duration_ms integer constraint agent_executions_duration_ms_check check (duration_ms >= 0),
    tags text[] not null default '{}',
    created_at timestamptz not null default now()
);
comment on table public.agent_executions is 'One agent run with its performance figures; duration_ms is set by trigger.';

create table if not exists public.memory_logs (
    id uuid primary key default uuid_generate_v4(),
    session_id uuid references public.sessions (id) on delete set null,
    user_id uuid references public.users (id) on delete cascade,
    agent_name text not null,
    operation text not null
        constraint memory_logs_operation_check check (operation in ('write', 'read', 'recall', 'decay')),
    memory_key text,
    content jsonb,
    relevance_score double precision
        constraint memory_logs_relevance_score_check check (relevance_score between 0 and 1),
    latency_ms integer constraint memory_logs_latency_ms_check check (latency_ms >= 0),
    success boolean not null default true,
    tags text[] not null default '{}',
    created_at timestamptz not null default now()
);
comment on table public.memory_logs is 'Audit of memory operations (write, read, recall, decay); purged by purge_old_logs.';

create table if not exists public.goal_assessments (
    id uuid primary key default uuid_generate_v4(),
    user_id uuid not null references public.users (id) on delete cascade,
    session_id uuid references public.sessions (id) on delete set null,
    agent_name text not null,
    goal_text text not null,
    goal_vector jsonb
        constraint goal_assessments_goal_vector_check check (jsonb_typeof(goal_vector) = 'array'),
    status text not null default 'active'
        constraint goal_assessments_status_check check (status in ('active', 'achieved', 'abandoned', 'paused')),
    progress double precision not null default 0
        constraint goal_assessments_progress_check check (progress between 0 and 1),
    priority integer not null default 0,
    target_date date,
    assessment jsonb not null default '{}'::jsonb,
    tags text[] not null default '{}',
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);
comment on table public.goal_assessments is 'User goals tracked by agents, with an embedding for match_goals.';
comment on column public.goal_assessments.goal_vector is 'Embedding: a json array of numbers (jsonb variant) or vector(N) (vector variant).';

create table if not exists public.belief_graphs (
    id uuid primary key default uuid_generate_v4(),
    user_id uuid references public.users (id) on delete cascade,
    agent_name text not null,
    subject text not null,
    predicate text not null,
    object text not null,
    belief_text text,
    confidence double precision not null default 0.5
        constraint belief_graphs_confidence_check check (confidence between 0 and 1),
    evidence jsonb not null default '[]'::jsonb,
    source text,
    belief_vector jsonb
        constraint belief_graphs_belief_vector_check check (jsonb_typeof(belief_vector) = 'array'),
    tags text[] not null default '{}',
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    last_reinforced_at timestamptz
);
comment on table public.belief_graphs is 'Agent beliefs as subject-predicate-object triples with a 0..1 confidence and an embedding.';
comment on column public.belief_graphs.belief_vector is 'Embedding: a json array of numbers (jsonb variant) or vector(N) (vector variant).';

create table if not exists public.cognitive_metrics (
    id uuid primary key default uuid_generate_v4(),
    session_id uuid references public.sessions (id) on delete set null,
    execution_id uuid references public.agent_executions (id) on delete cascade,
    user_id uuid references public.users (id) on delete cascade,
    agent_name text not null,
    metric_name text not null,
    metric_value double precision,
    cognitive_load double precision
        constraint cognitive_metrics_cognitive_load_check check (cognitive_load between 0 and 1),
    latency_ms integer constraint cognitive_metrics_latency_ms_check check (latency_ms >= 0),
    tokens_used integer constraint cognitive_metrics_tokens_used_check check (tokens_used >= 0),
    recorded_at timestamptz not null default now(),
    created_at timestamptz not null default now()
);
comment on table public.cognitive_metrics is 'Agent performance and cognitive load samples.';

create table if not exists public.audit_logs (
    id uuid primary key default uuid_generate_v4(),
    user_id uuid references public.users (id) on delete set null,
    actor text,
    action text not null,
    resource_type text,
    resource_id text,
    old_values jsonb,
    new_values jsonb,
    ip_address inet,
    user_agent text,
    created_at timestamptz not null default now()
);
comment on table public.audit_logs is 'System audit trail; rows outlive their user (user_id set null) and are readable by the admin role only.';
