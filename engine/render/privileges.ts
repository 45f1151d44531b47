// THE list of privileges: what the app role (the RLS subject) and the admin role get on which
// memory objects. The Grants component declares one postgresql.Grant per rule; `memory-stack apply`
// grants the rules on the schema's own objects as SQL (grants.ts); verification checks every rule
// as deployed (engine/verify/privileges.ts); the integration tests prove what they allow and refuse.
//
// Rows are the schema's business, objects are ours: row level security (sql/0009_rls.sql)
// limits the app role to its own user's rows and shows the admin role all of them; these grants
// say which tables, views and functions each role may touch at all. Neither role owns anything,
// so neither can drop or alter a table, and neither gets TRUNCATE, REFERENCES or TRIGGER.
//
// Privileges are upper case because the provider reads them back from aclexplode() that way;
// lower case would show a diff on every refresh.
import { MEMORY_TABLES, USERS_MEMORY_COLUMNS, VIEWS } from "../migrate/manifest";

export type Grantee = "app" | "admin";
export type ObjectType = "database" | "schema" | "table" | "column" | "function";
export type Privilege = "CONNECT" | "USAGE" | "SELECT" | "INSERT" | "UPDATE" | "DELETE" | "EXECUTE";

export interface PrivilegeRule {
    /** Stable key; the Grant resource is named `${name}-${key}`. */
    key: string;
    grantee: Grantee;
    objectType: ObjectType;
    /** Schema of the objects; unset for objectType database. */
    schema?: string;
    /** Tables, views or functions (bare names, none overloaded); empty for database and schema. */
    objects: readonly string[];
    /** objectType column only: the columns of the one table in objects. */
    columns?: readonly string[];
    privileges: readonly Privilege[];
    /**
     * On an object the stack does not own (the database, schema public, the application's users
     * table). Granted only to roles the stack creates: destroy revokes every grant, and revoking
     * from Supabase's own authenticated or service_role would take away what they had before.
     */
    shared: boolean;
    /** Why the role needs it, for readers of the list and the README. */
    why: string;
}

export const MEMORY_SCHEMA = "public";

/** What the application calls. Trigger functions need no grant: PostgreSQL checks EXECUTE only when a trigger is created. */
export const APP_FUNCTIONS: readonly string[] = ["get_active_session", "close_session", "match_goals", "match_beliefs"];
/** Housekeeping (sql/0007_maintenance.sql), run by an operator or a scheduled job as the admin role. */
export const MAINTENANCE_FUNCTIONS: readonly string[] = ["close_stale_sessions", "purge_old_logs", "forget_user"];
export const TRIGGER_FUNCTIONS: readonly string[] = [
    "calculate_execution_duration",
    "update_updated_at_column",
    "derive_embedding_columns",
];
/**
 * What match_* and the embedding trigger call as the caller (sql/0013, 0014, 0017): EXECUTE stays
 * PUBLIC's, as for every function but the maintenance ones; embedding_derived is the jsonb variant's.
 */
export const SEARCH_HELPER_FUNCTIONS: readonly string[] = ["embedding_search", "embedding_derived"];

/** Logs and metrics are history: the application appends and reads its own, never rewrites them. */
export const APPEND_ONLY_TABLES: readonly string[] = ["memory_logs", "cognitive_metrics"];
/** The rest of the app role's tables, all but audit_logs and the append-only ones. */
export const APP_TABLES: readonly string[] = MEMORY_TABLES.filter((t) => t !== "audit_logs" && !APPEND_ONLY_TABLES.includes(t));
/** recent_agent_activity joins users (every user's email) and stays the admin's. */
export const APP_VIEWS: readonly string[] = VIEWS.filter((v) => v !== "recent_agent_activity");

const CRUD: readonly Privilege[] = ["SELECT", "INSERT", "UPDATE", "DELETE"];

export const PRIVILEGE_RULES: readonly PrivilegeRule[] = [
    {
        key: "app-connect",
        grantee: "app",
        objectType: "database",
        objects: [],
        privileges: ["CONNECT"],
        shared: true,
        why: "log in to the memory database (PUBLIC has it by default; a hardened server may have revoked it)",
    },
    {
        key: "app-schema",
        grantee: "app",
        objectType: "schema",
        schema: MEMORY_SCHEMA,
        objects: [],
        privileges: ["USAGE"],
        shared: true,
        why: "resolve the memory objects in schema public",
    },
    {
        key: "app-tables",
        grantee: "app",
        objectType: "table",
        schema: MEMORY_SCHEMA,
        objects: APP_TABLES,
        privileges: CRUD,
        shared: false,
        why: "sessions, executions, goals and beliefs: read and write its own user's rows (RLS)",
    },
    {
        key: "app-append-only",
        grantee: "app",
        objectType: "table",
        schema: MEMORY_SCHEMA,
        objects: APPEND_ONLY_TABLES,
        privileges: ["SELECT", "INSERT"],
        shared: false,
        why: "log memory operations and metrics and read its own back; purging is the admin's",
    },
    {
        key: "app-audit-insert",
        grantee: "app",
        objectType: "table",
        schema: MEMORY_SCHEMA,
        objects: ["audit_logs"],
        privileges: ["INSERT"],
        shared: false,
        why: "write its own audit rows without reading any (audit_logs are the admin's to read)",
    },
    {
        key: "app-views",
        grantee: "app",
        objectType: "table",
        schema: MEMORY_SCHEMA,
        objects: APP_VIEWS,
        privileges: ["SELECT"],
        shared: false,
        why: "the reporting views, security_invoker, so RLS shows its own rows only",
    },
    {
        key: "app-functions",
        grantee: "app",
        objectType: "function",
        schema: MEMORY_SCHEMA,
        objects: APP_FUNCTIONS,
        privileges: ["EXECUTE"],
        shared: false,
        why: "find and close sessions, similarity search (security invoker: RLS applies)",
    },

    {
        key: "admin-connect",
        grantee: "admin",
        objectType: "database",
        objects: [],
        privileges: ["CONNECT"],
        shared: true,
        why: "log in to the memory database",
    },
    {
        key: "admin-schema",
        grantee: "admin",
        objectType: "schema",
        schema: MEMORY_SCHEMA,
        objects: [],
        privileges: ["USAGE"],
        shared: true,
        why: "resolve the memory objects in schema public",
    },
    {
        key: "admin-tables",
        grantee: "admin",
        objectType: "table",
        schema: MEMORY_SCHEMA,
        objects: MEMORY_TABLES,
        privileges: CRUD,
        shared: false,
        why: "every row of every memory table, audit_logs included (its policies show it all)",
    },
    {
        key: "admin-views",
        grantee: "admin",
        objectType: "table",
        schema: MEMORY_SCHEMA,
        objects: VIEWS,
        privileges: ["SELECT"],
        shared: false,
        why: "all three reporting views",
    },
    {
        key: "admin-functions",
        grantee: "admin",
        objectType: "function",
        schema: MEMORY_SCHEMA,
        objects: [...APP_FUNCTIONS, ...MAINTENANCE_FUNCTIONS],
        privileges: ["EXECUTE"],
        shared: false,
        why: "the application's functions and the maintenance ones (stale sessions, retention, forget a user)",
    },
    {
        key: "admin-users",
        grantee: "admin",
        objectType: "table",
        schema: MEMORY_SCHEMA,
        objects: ["users"],
        privileges: ["SELECT"],
        shared: true,
        why: "recent_agent_activity and forget_user read users",
    },
    {
        key: "admin-users-memory-columns",
        grantee: "admin",
        objectType: "column",
        schema: MEMORY_SCHEMA,
        objects: ["users"],
        columns: USERS_MEMORY_COLUMNS,
        privileges: ["UPDATE"],
        shared: true,
        why: "forget_user clears a user's memory columns; the application's own columns stay out of reach",
    },
];

export interface PrivilegeOptions {
    /** The stack created the roles (createRoles); otherwise shared objects are left alone. */
    rolesCreated: boolean;
}

/** The rules that apply to a stack. */
export function privilegeRules(options: PrivilegeOptions): PrivilegeRule[] {
    return PRIVILEGE_RULES.filter((rule) => options.rolesCreated || !rule.shared);
}

/**
 * The rules on objects the schema created, whose rollback drops them with every grant on them: what
 * `memory-stack apply` grants. users counts only where the schema created it (usersCreated); the
 * database, schema public and an application's users table are left to the operator.
 */
export function schemaObjectRules(options: { usersCreated: boolean }): PrivilegeRule[] {
    return PRIVILEGE_RULES.filter((rule) => !rule.shared || (options.usersCreated && onUsers(rule)));
}

/** What the roles need on users: granted by `pulumi up`'s Grants component, or, on an application's users, by its owner. */
export function applicationUsersRules(): PrivilegeRule[] {
    return PRIVILEGE_RULES.filter((rule) => rule.shared && onUsers(rule));
}

const onUsers = (rule: PrivilegeRule) => rule.objects.length === 1 && rule.objects[0] === "users";
