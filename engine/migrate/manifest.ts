// Every object the memory schema creates, by name, per variant: what verification checks and
// what the tests compare the catalog against (nothing missing, nothing extra).
//
// Names are unqualified for tables, views, triggers, indexes and policies (all in schema
// public). Functions (in public, auth and memory_stack) are "schema.name(identity arguments)", the identity arguments exactly as
//   select n.nspname || '.' || p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')'
//   from pg_proc p join pg_namespace n on n.oid = p.pronamespace
// prints them (argument names included, defaults not), e.g. "public.close_session(session_id uuid, status text)".
// The vector type prints as "vector" when pgvector's schema is on the search_path.
import type { SchemaOptions } from "./render";

/** The seven memory tables, in the seed's rollback order (children first). */
export const MEMORY_TABLES: readonly string[] = [
    "audit_logs",
    "cognitive_metrics",
    "belief_graphs",
    "goal_assessments",
    "memory_logs",
    "agent_executions",
    "sessions",
];

/** The seed's four functions. */
export const SEED_FUNCTIONS: readonly string[] = [
    "get_active_session",
    "close_session",
    "calculate_execution_duration",
    "update_updated_at_column",
];

/** The columns the schema adds to (or creates with) users. */
export const USERS_MEMORY_COLUMNS: readonly string[] = ["memory_preferences", "memory_enabled", "last_memory_activity_at"];

/** The defaults 0002_users.sql gives those columns: the next apply gives a value equal to one back, whatever the default is now. */
export const USERS_MEMORY_DEFAULTS: Readonly<Record<string, string>> = {
    memory_preferences: "'{}'::jsonb",
    memory_enabled: "true",
    last_memory_activity_at: "null",
};

export interface SchemaManifest {
    /** Extensions the schema needs (plpgsql not listed). */
    extensions: string[];
    /** The seven memory tables (users is the application's or ours; see USERS_MEMORY_COLUMNS). */
    tables: string[];
    views: string[];
    /** "schema.name(identity arguments)", see the header. */
    functions: string[];
    triggers: { table: string; name: string }[];
    /** All indexes on the seven tables, primary keys and unique constraints included. */
    indexes: { table: string; name: string }[];
    policies: { table: string; name: string }[];
    /** Tables with row level security enabled. */
    rlsTables: string[];
}

export const VIEWS: readonly string[] = ["recent_agent_activity", "memory_operation_summary", "user_session_stats"];

export const TRIGGERS: readonly { table: string; name: string }[] = [
    { table: "sessions", name: "update_sessions_updated_at" },
    { table: "goal_assessments", name: "update_goal_assessments_updated_at" },
    { table: "belief_graphs", name: "update_belief_graphs_updated_at" },
    { table: "agent_executions", name: "calculate_agent_execution_duration" },
];

/**
 * The jsonb variant's derived embedding columns and what keeps them true (sql/0013_similarity_derived.sql).
 * The vector variant has none of them: the switch to vector drops them.
 */
export const EMBEDDING_DERIVED = {
    columns: {
        goal_assessments: ["goal_vector_unit", "goal_vector_signs", "goal_vector_magnitudes"],
        belief_graphs: ["belief_vector_unit", "belief_vector_signs", "belief_vector_magnitudes"],
    },
    triggers: [
        { table: "goal_assessments", name: "update_goal_vector_derived" },
        { table: "belief_graphs", name: "update_belief_vector_derived" },
    ],
    functions: [
        "public.embedding_derived(embedding jsonb, OUT unit real[], OUT signs bit varying, OUT magnitudes bit varying)",
        "public.derive_embedding_columns()",
    ],
} as const;

// Secondary indexes per table (0004_indexes.sql); each table also has <table>_pkey.
const SECONDARY_INDEXES: Record<string, string[]> = {
    sessions: [
        // unique (user_id, session_id), 0012_hardening; sessions_session_id_key before it
        "sessions_user_id_session_id_key",
        "idx_sessions_user_id",
        "idx_sessions_agent_name",
        "idx_sessions_status",
        "idx_sessions_started_at",
        "idx_sessions_active_lookup",
    ],
    agent_executions: [
        "idx_agent_executions_session_id",
        "idx_agent_executions_user_id",
        "idx_agent_executions_agent_name",
        "idx_agent_executions_status",
        "idx_agent_executions_started_at",
        "idx_agent_executions_tags",
    ],
    memory_logs: [
        "idx_memory_logs_session_id",
        "idx_memory_logs_user_id",
        "idx_memory_logs_agent_name",
        "idx_memory_logs_operation",
        "idx_memory_logs_memory_key",
        "idx_memory_logs_created_at",
        "idx_memory_logs_tags",
    ],
    goal_assessments: [
        "idx_goal_assessments_user_id",
        "idx_goal_assessments_session_id",
        "idx_goal_assessments_agent_name",
        "idx_goal_assessments_status",
        "idx_goal_assessments_priority",
        "idx_goal_assessments_target_date",
        "idx_goal_assessments_tags",
    ],
    belief_graphs: [
        "idx_belief_graphs_user_id",
        "idx_belief_graphs_agent_name",
        "idx_belief_graphs_subject_predicate",
        "idx_belief_graphs_confidence",
        "idx_belief_graphs_last_reinforced_at",
        "idx_belief_graphs_tags",
    ],
    cognitive_metrics: [
        "idx_cognitive_metrics_session_id",
        "idx_cognitive_metrics_execution_id",
        "idx_cognitive_metrics_user_id",
        "idx_cognitive_metrics_agent_name",
        "idx_cognitive_metrics_metric_name",
        "idx_cognitive_metrics_recorded_at",
    ],
    audit_logs: ["idx_audit_logs_user_id", "idx_audit_logs_action", "idx_audit_logs_resource", "idx_audit_logs_created_at"],
};

const VECTOR_INDEXES = [
    { table: "goal_assessments", name: "idx_goal_assessments_goal_vector" },
    { table: "belief_graphs", name: "idx_belief_graphs_belief_vector" },
];

/** What the application calls to search by embedding, the same in both variants (sql/0014, sql/0017). */
export const SIMILARITY_FUNCTIONS: readonly string[] = ["match_goals", "match_beliefs"];

function similarityArguments(embedding: string): string {
    return `query_embedding ${embedding}, match_count integer, filter_user_id uuid, candidates integer, exact boolean`;
}

/** Tables whose rows belong to one user (app role: own rows; admin role: all). */
const USER_TABLES = MEMORY_TABLES.filter((table) => table !== "audit_logs");

export function expectedObjects(options: SchemaOptions): SchemaManifest {
    const embedding = options.vector ? "vector" : "jsonb";
    const functions = [
        "public.update_updated_at_column()",
        "public.calculate_execution_duration()",
        "public.get_active_session(user_id uuid, agent_name text)",
        "public.close_session(session_id uuid, status text)",
        "public.close_stale_sessions(max_age interval)",
        "public.purge_old_logs(memory_retention interval, audit_retention interval)",
        "public.forget_user(target_user_id uuid)",
        ...SIMILARITY_FUNCTIONS.map((name) => `public.${name}(${similarityArguments(embedding)})`),
        `public.embedding_search(target text, ${similarityArguments(embedding)})`,
        ...(options.vector ? [] : EMBEDDING_DERIVED.functions),
        ...(options.rls
            ? ["auth.uid()", "memory_stack.request_user_id()", "memory_stack.bind_user(user_id uuid)", "memory_stack.trust_plain_claims()"]
            : []),
    ];
    const indexes = [...MEMORY_TABLES]
        .reverse()
        .flatMap((table) => [{ table, name: `${table}_pkey` }, ...SECONDARY_INDEXES[table].map((name) => ({ table, name }))]);
    const policies = options.rls
        ? [
              ...USER_TABLES.flatMap((table) => [
                  { table, name: `${table}_own_rows` },
                  { table, name: `${table}_admin_all` },
              ]),
              { table: "audit_logs", name: "audit_logs_admin_all" },
              { table: "audit_logs", name: "audit_logs_own_insert" },
          ]
        : [];
    return {
        extensions: options.vector ? ["uuid-ossp", "vector"] : ["uuid-ossp"],
        tables: [...MEMORY_TABLES],
        views: [...VIEWS],
        functions,
        triggers: [...TRIGGERS, ...(options.vector ? [] : EMBEDDING_DERIVED.triggers)].map((t) => ({ ...t })),
        indexes: options.vector ? [...indexes, ...VECTOR_INDEXES] : indexes,
        policies,
        rlsTables: options.rls ? [...MEMORY_TABLES] : [],
    };
}

/**
 * The columns of each memory table (0003_tables.sql; the embedding columns change type, not
 * name, in the vector variant), and of users the ones the memory schema relies on: id and
 * USERS_MEMORY_COLUMNS. Verification reports a column missing by name.
 */
export const TABLE_COLUMNS: Readonly<Record<string, readonly string[]>> = {
    users: ["id", ...USERS_MEMORY_COLUMNS],
    sessions: [
        "id",
        "session_id",
        "user_id",
        "agent_name",
        "status",
        "context",
        "metadata",
        "started_at",
        "ended_at",
        "created_at",
        "updated_at",
    ],
    agent_executions: [
        "id",
        "session_id",
        "user_id",
        "agent_name",
        "status",
        "input",
        "output",
        "error_message",
        "model",
        "tokens_input",
        "tokens_output",
        "cost_usd",
        "started_at",
        "completed_at",
        "duration_ms",
        "tags",
        "created_at",
    ],
    memory_logs: [
        "id",
        "session_id",
        "user_id",
        "agent_name",
        "operation",
        "memory_key",
        "content",
        "relevance_score",
        "latency_ms",
        "success",
        "tags",
        "created_at",
    ],
    goal_assessments: [
        "id",
        "user_id",
        "session_id",
        "agent_name",
        "goal_text",
        "goal_vector",
        "status",
        "progress",
        "priority",
        "target_date",
        "assessment",
        "tags",
        "created_at",
        "updated_at",
    ],
    belief_graphs: [
        "id",
        "user_id",
        "agent_name",
        "subject",
        "predicate",
        "object",
        "belief_text",
        "confidence",
        "evidence",
        "source",
        "belief_vector",
        "tags",
        "created_at",
        "updated_at",
        "last_reinforced_at",
    ],
    cognitive_metrics: [
        "id",
        "session_id",
        "execution_id",
        "user_id",
        "agent_name",
        "metric_name",
        "metric_value",
        "cognitive_load",
        "latency_ms",
        "tokens_used",
        "recorded_at",
        "created_at",
    ],
    audit_logs: [
        "id",
        "user_id",
        "actor",
        "action",
        "resource_type",
        "resource_id",
        "old_values",
        "new_values",
        "ip_address",
        "user_agent",
        "created_at",
    ],
};

/** TABLE_COLUMNS and, in the jsonb variant, the derived embedding columns. */
export function tableColumns(options: SchemaOptions): Record<string, string[]> {
    const derived: Record<string, readonly string[]> = options.vector ? {} : EMBEDDING_DERIVED.columns;
    return Object.fromEntries(Object.entries(TABLE_COLUMNS).map(([table, columns]) => [table, [...columns, ...(derived[table] ?? [])]]));
}
