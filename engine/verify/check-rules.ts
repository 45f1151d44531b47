// What PostgreSQL 15 prints (pg_get_constraintdef, under verification's search_path pg_catalog) for each named check
// constraint the migrations create: verification compares a same-named check with it, on PostgreSQL 15 only (another
// major may print a rule otherwise). test/integration/check-rules.test.ts keeps it in step with sql/.
export const CHECK_RULES_PG15: Readonly<Record<string, string>> = {
    agent_executions_cost_usd_check: "CHECK ((cost_usd >= (0)::numeric))",
    agent_executions_duration_ms_check: "CHECK ((duration_ms >= 0))",
    agent_executions_status_check: "CHECK ((status = ANY (ARRAY['running'::text, 'completed'::text, 'failed'::text, 'cancelled'::text])))",
    agent_executions_tokens_input_check: "CHECK ((tokens_input >= 0))",
    agent_executions_tokens_output_check: "CHECK ((tokens_output >= 0))",
    belief_graphs_belief_vector_check: "CHECK ((jsonb_typeof(belief_vector) = 'array'::text))",
    belief_graphs_confidence_check: "CHECK (((confidence >= (0)::double precision) AND (confidence <= (1)::double precision)))",
    cognitive_metrics_cognitive_load_check:
        "CHECK (((cognitive_load >= (0)::double precision) AND (cognitive_load <= (1)::double precision)))",
    cognitive_metrics_latency_ms_check: "CHECK ((latency_ms >= 0))",
    cognitive_metrics_tokens_used_check: "CHECK ((tokens_used >= 0))",
    goal_assessments_goal_vector_check: "CHECK ((jsonb_typeof(goal_vector) = 'array'::text))",
    goal_assessments_progress_check: "CHECK (((progress >= (0)::double precision) AND (progress <= (1)::double precision)))",
    goal_assessments_status_check: "CHECK ((status = ANY (ARRAY['active'::text, 'achieved'::text, 'abandoned'::text, 'paused'::text])))",
    memory_logs_latency_ms_check: "CHECK ((latency_ms >= 0))",
    memory_logs_operation_check: "CHECK ((operation = ANY (ARRAY['write'::text, 'read'::text, 'recall'::text, 'decay'::text])))",
    memory_logs_relevance_score_check:
        "CHECK (((relevance_score >= (0)::double precision) AND (relevance_score <= (1)::double precision)))",
    sessions_status_check: "CHECK ((status = ANY (ARRAY['active'::text, 'completed'::text, 'failed'::text, 'timeout'::text])))",
};
