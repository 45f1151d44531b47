// The preflight's checks of who is connecting: the rights an apply needs (CREATE in public, CREATE on
// the database for a first install, CREATEROLE for missing roles), role names PostgreSQL reserves or
// that are the connecting user, the extensions the variant needs, and a memory_stack schema that is
// not the stack's.
import { isReservedRoleName } from "../config/reserved";
import { textArray } from "../db/literal";
import { LEDGER_SCHEMA } from "./ledger";
import { MEMORY_TABLES } from "./manifest";
import type { Conflict } from "./preflight";
import type { SchemaOptions } from "./render";
import { sqlName } from "./sql-name";

/** What to do about an application's object in `schema` that has a name the memory schema creates. */
export function rename(schema: string): string {
    return (
        `Rename or move the application's object out of schema ${schema}, or deploy the memory schema into a database of its own; ` +
        "the stack never adopts an object it did not create"
    );
}

/** SQL: who is connecting and what it may create, in one row. */
export const RIGHTS_READ = `select current_user as me, current_database() as database,
                (select datistemplate from pg_database where datname = current_database()) as template, r.rolsuper as superuser, r.rolcreaterole as create_role,
                has_database_privilege(current_database(), 'CREATE') as create_database_objects,
                has_schema_privilege('public', 'CREATE') as create_public,
                to_regnamespace('${LEDGER_SCHEMA}') is not null and to_regclass('${LEDGER_SCHEMA}.migrations') is null
                    and exists (select from pg_class where relnamespace = to_regnamespace('${LEDGER_SCHEMA}')) as foreign_bookkeeping,
                to_regnamespace('auth') is null as auth_missing
           from pg_roles r where r.rolname = current_user`;

export interface RightsRow {
    me: string;
    database: string;
    /** The database is a template (template1, or one marked is_template): CREATE DATABASE copies it. */
    template: boolean;
    superuser: boolean;
    create_role: boolean;
    create_database_objects: boolean;
    create_public: boolean;
    foreign_bookkeeping: boolean;
    auth_missing: boolean;
}

// What lets a role past row level security: it is a superuser, has BYPASSRLS, or has CREATEROLE (it may grant itself a role that is).
const BYPASSES = (role: string) =>
    `case when ${role}.rolsuper then 'a superuser' when ${role}.rolbypassrls then 'BYPASSRLS' when ${role}.rolcreaterole then 'CREATEROLE' end`;

// The memory tables' owners as they stand: on an upgrade they may be a group the connecting role owns them through.
const OWNERS = `array(select distinct pg_get_userbyid(c.relowner)::text from pg_class c
                   where c.oid = any(array(select to_regclass(format('public.%I', t)) from unnest(${textArray(MEMORY_TABLES)}) t)))`;

/**
 * SQL: whether the roles exist, bypass row level security, or may become (set role) the connecting role or the memory
 * tables' owner, which own them, the admin role, which sees every row, or any role that bypasses it; one row per role.
 */
export function rolesRead(options: Pick<SchemaOptions, "appRole" | "adminRole">): string {
    // pg_has_role fails for a role that does not exist: a case, not an and, keeps it from being asked then.
    const member = (other: string, exists = "true") =>
        `case when exists (select from pg_roles where rolname = t.name) and ${exists} then pg_has_role(t.name, ${other}, 'MEMBER') else false end`;
    return `select t.name, r.oid is not null as exists, ${BYPASSES("r")} as bypasses, b.becomes, ${BYPASSES("g")} as becomes_bypasses,
                    t.name = any(${OWNERS}) as owns
               from unnest(${textArray([options.appRole, options.adminRole])}) as t(name)
               left join pg_roles r on r.rolname = t.name
               cross join lateral (select coalesce(
                   (select other from unnest(array_prepend(current_user::text, ${textArray([options.adminRole])}) || ${OWNERS}) as other
                     where other <> t.name and ${member("other", "exists (select from pg_roles where rolname = other)")} limit 1),
                   (select o.rolname::text from pg_roles o
                     where o.rolname <> t.name and ${BYPASSES("o")} is not null and ${member("o.oid")} order by o.rolname limit 1)) as becomes) b
               left join pg_roles g on g.rolname = b.becomes`;
}

export interface RoleRow {
    name: string;
    exists: boolean;
    /** What lets it past row level security: "a superuser", "BYPASSRLS", or "CREATEROLE" (it may grant itself a role that is); else null. */
    bypasses: string | null;
    /** The connecting role (the memory tables' owner), the admin role, or a role that bypasses row level security, when this role may become it; else null. */
    becomes: string | null;
    /** What lets `becomes` past row level security (as `bypasses` says it), when it is such a role. */
    becomes_bypasses: string | null;
    /** It owns a memory table, which row level security does not restrict (not forced on its owner). */
    owns: boolean;
}

/** SQL: whether each extension is installed, available and (for a role that is no superuser) trusted; one row per extension. */
export function availableRead(extensions: string[]): string {
    // pg_available_extension_versions reads every version of every extension on the server (a few ms): asked only when it matters.
    return `select e.name, i.installed, exists (select from pg_available_extensions where name = e.name) as available,
                case when i.installed or (select rolsuper from pg_roles where rolname = current_user) then false
                     else coalesce((select bool_or(trusted) from pg_available_extension_versions where name = e.name), false) end as trusted
           from unnest(${textArray(extensions)}) as e(name), lateral (select exists (select from pg_extension where extname = e.name) as installed) i`;
}

export interface AvailableRow {
    name: string;
    installed: boolean;
    available: boolean;
    trusted: boolean;
}

/** The conflicts the rows of RIGHTS_READ, rolesRead (undefined without rls) and availableRead show. */
export function rightsConflicts(
    facts: RightsRow[],
    roles: RoleRow[] | undefined,
    available: AvailableRow[],
    options: SchemaOptions,
    fresh: boolean,
): Conflict[] {
    const conflicts: Conflict[] = [];
    const me = facts[0];
    if (me.foreign_bookkeeping) {
        conflicts.push({
            object: `schema ${LEDGER_SCHEMA}`,
            problem: "exists, holds objects and has no memory-stack ledger: the stack keeps its bookkeeping there",
            fix: `Rename the application's schema (alter schema ${LEDGER_SCHEMA} rename to ...), or deploy the memory schema into a database of its own; the stack never adopts an object it did not create`,
        });
    }
    if (me.template) {
        conflicts.push({
            object: `database ${me.database}`,
            problem:
                "is a template database: every CREATE DATABASE copies it, and each new database would get the memory tables, their rows and the ledger",
            fix: "Apply to a database of your own: create one (create database <name>) and use its URL",
        });
    }
    if (!me.create_public) {
        conflicts.push({
            object: "schema public",
            problem: `the connecting role ${me.me} may not create objects in it`,
            fix: `grant create on schema public to ${sqlName(me.me)}, or connect as its owner`,
        });
    }
    const needsSchemas = fresh || (options.rls && me.auth_missing);
    if (needsSchemas && !me.create_database_objects) {
        conflicts.push({
            object: "database",
            problem: `the connecting role ${me.me} may not create schemas in it (${fresh ? LEDGER_SCHEMA : "auth"})`,
            fix: `grant create on database ${sqlName(me.database)} to ${sqlName(me.me)}, or connect as the database owner`,
        });
    }
    if (roles) {
        for (const role of roles) {
            const key = role.name === options.appRole ? "appRole" : "adminRole";
            if (isReservedRoleName(role.name)) {
                conflicts.push({
                    object: `role ${role.name} (${key})`,
                    problem: `${role.name.startsWith("pg_") ? "names starting with pg_ are" : "this name is"} reserved by PostgreSQL`,
                    fix: `Choose another ${key}`,
                });
            } else if (key === "appRole" && role.bypasses !== null) {
                // The admin role may see every row (Supabase's service_role has BYPASSRLS); the app role must not, nor grant
                // itself a role that does (PostgreSQL 15's CREATEROLE grants any role that is no superuser).
                conflicts.push({
                    object: `role ${role.name} (${key})`,
                    problem:
                        role.bypasses === "CREATEROLE"
                            ? `has CREATEROLE: it can grant itself the admin role (or any other role that is no superuser) and see every user's rows`
                            : `is ${role.bypasses}: row level security would not apply to it`,
                    fix: `Choose another ${key}, or alter role ${role.name} no${role.bypasses === "a superuser" ? "superuser" : role.bypasses.toLowerCase()}`,
                });
            } else if (key === "appRole" && role.owns) {
                conflicts.push({
                    object: `role ${role.name} (${key})`,
                    problem: "owns memory tables: row level security does not restrict a table's owner, so it would see every user's rows",
                    fix: `Give the memory tables back to the role that deploys them (alter table … owner to ${sqlName(me.me)}), or choose another ${key}`,
                });
            } else if (key === "appRole" && role.becomes !== null) {
                const what =
                    role.becomes === options.adminRole
                        ? "the admin role, which sees every user's rows"
                        : role.becomes === me.me || role.becomes_bypasses === null
                          ? "which owns the memory tables"
                          : `which ${role.becomes_bypasses === "a superuser" ? "is a superuser" : `has ${role.becomes_bypasses}`}`;
                conflicts.push({
                    object: `role ${role.name} (${key})`,
                    problem: `is a member of ${role.becomes}, ${what}: it can become ${role.becomes} (set role), and row level security would not keep it to one user's rows`,
                    fix: `revoke ${role.becomes} from ${role.name}, or choose another ${key}`,
                });
            } else if (role.name === me.me) {
                conflicts.push({
                    object: `role ${role.name} (${key})`,
                    problem: "is the connecting user, which owns the memory tables: row level security would not apply to it",
                    fix: `Choose another ${key}, or migrate as another user`,
                });
            } else if (!role.exists && !me.superuser && !me.create_role) {
                conflicts.push({
                    object: `role ${role.name} (${key})`,
                    problem: `does not exist and the connecting role ${me.me} may not create roles`,
                    fix: `Create it (create role ${role.name} nologin) or connect as a role with CREATEROLE`,
                });
            }
        }
    }
    for (const extension of available.filter((row) => !row.installed)) {
        if (!extension.available) {
            conflicts.push({
                object: `extension ${extension.name}`,
                problem: "is not available on this server",
                fix:
                    extension.name === "vector"
                        ? "Use a server with pgvector (the pgvector/pgvector:pg15 image; on managed servers enable the extension), or leave vector off"
                        : `Install the ${extension.name} extension on the server`,
            });
        } else if (!me.superuser && !(extension.trusted && me.create_database_objects)) {
            conflicts.push({
                object: `extension ${extension.name}`,
                problem: `is not installed and the connecting role ${me.me} may not create it`,
                fix: `Have a superuser run create extension "${extension.name}" in this database first`,
            });
        }
    }
    return conflicts;
}
