// Names PostgreSQL keeps for itself, shared by the config rules (refused at preview) and the preflight
// (refused before an apply). No imports: the CLI loads the preflight without zod.

/** Role names PostgreSQL reserves besides pg_*: `create role none` fails, and the others stand for a role the session has. */
export const RESERVED_ROLE_NAMES = ["public", "none", "current_user", "current_role", "session_user"];

/** What a config key or a flag naming a reserved role is told. */
export const RESERVED_ROLE_RULE =
    "is a name PostgreSQL reserves (pg_ names are its own roles; public, none, current_user, current_role and session_user stand for other roles): choose a role name of your own";

/** True for a role name PostgreSQL reserves: pg_* (its own roles) or one of RESERVED_ROLE_NAMES. */
export function isReservedRoleName(name: string): boolean {
    return name.startsWith("pg_") || RESERVED_ROLE_NAMES.includes(name);
}

/** Databases every server has for itself: CREATE DATABASE copies template1, and template0 takes no connections. */
export const TEMPLATE_DATABASES = ["template0", "template1"];
