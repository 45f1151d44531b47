// Privileges as deployed: whether the app and admin roles hold what the one privilege list
// (engine/render/privileges.ts) and the schema's own grants give them, whether the app role can run
// what it must not, and whether either role can become a role that row level security does not
// restrict. Read in the catalog's single round trip (catalog.ts) with has_*_privilege, which counts
// grants to PUBLIC and inherited memberships: what the role can actually do. Nothing is granted.
import { quoteIdentifier } from "../migrate/render";
import { sqlName } from "../migrate/sql-name";
import { renderGrants } from "../render/grants";
import { MEMORY_TABLES } from "../migrate/manifest";
import { MAINTENANCE_FUNCTIONS, PRIVILEGE_RULES, type Grantee, type PrivilegeRule } from "../render/privileges";
import type { Expectations } from "./expected";
import type { Problem } from "./report";

/** One privilege of one role on one object, as the catalog query reads it. */
export interface PrivilegeCheck {
    role: string;
    kind: PrivilegeRule["objectType"];
    /** Schema of the object; "" for the database. */
    schema: string;
    /** Table, view or function name; "" for the database and a schema. */
    object: string;
    /** The column, for kind column; "" otherwise. */
    col: string;
    privilege: string;
    /** Its position, so the answers come back in order. */
    i: number;
}

/** What the catalog query says about a role the schema names. */
export interface RoleFacts {
    name: string;
    exists: boolean;
    superuser: boolean;
    bypassRls: boolean;
    /** PostgreSQL 15's CREATEROLE may grant itself any role that is no superuser: the admin role, a managed server's owner. */
    createRole: boolean;
    /** The verifying user may SET ROLE to it, which the behaviour checks do. */
    verifierMember: boolean;
    /** Roles among the owner of the memory tables, the two roles and any superuser that it is a member of. */
    memberOf: string[];
    /** Schemas whose names the owner's code resolves (SQUAT_SCHEMAS) that it may create objects in, and whether PUBLIC may. */
    creates: { schema: string; viaPublic: boolean }[];
}

/**
 * Where an object the role creates could take the place of one that the owner (migrating, verifying)
 * or the admin role resolves by name: public and the extension schemas are on the migrations'
 * search_path, auth and memory_stack hold the functions the policies call.
 */
const SQUAT_SCHEMAS = `(s.nspname in ('public', 'auth', 'memory_stack')
        or s.oid in (select extnamespace from pg_extension where extname in ('uuid-ossp', 'vector')))`;

// What 0011_claim_binding grants the roles: the policies call request_user_id as the querying role.
const CLAIM_GRANTS: PrivilegeRule[] = (["app", "admin"] as const).flatMap((grantee): PrivilegeRule[] => [
    {
        key: `${grantee}-claims-schema`,
        grantee,
        objectType: "schema",
        schema: "memory_stack",
        objects: [],
        privileges: ["USAGE"],
        shared: false,
        why: "",
    },
    {
        key: `${grantee}-claims-functions`,
        grantee,
        objectType: "function",
        schema: "memory_stack",
        objects: ["request_user_id", "bind_user"],
        privileges: ["EXECUTE"],
        shared: false,
        why: "",
    },
]);

interface Expected {
    /** The rule the role needs it by; none for what the role must not have. */
    rule?: PrivilegeRule;
    check: PrivilegeCheck;
    /** The role needs it (true) or must not have it (false). */
    needed: boolean;
}

// What the app role must not hold: the maintenance functions change every user's rows; row level
// security does not stop TRUNCATE; a REFERENCES would tell which keys exist; a trigger of its own
// would run as whoever writes next; the plain-claim switch would let an id one client left at
// session level count for the next client of the same connection; a row it writes into the ledger
// tables would make the next apply skip a migration or the rollback drop an application's table as the stack's.
/** The bookkeeping tables in schema memory_stack (migrate/ledger.ts, step-ledger.ts, search-settings.ts, sql/0001). */
export const LEDGER_TABLES = ["migrations", "created_objects", "owned_objects", "migration_steps", "search_settings"];

const APP_FORBIDDEN: { kind: PrivilegeRule["objectType"]; schema: string; objects: readonly string[]; privileges: string[] }[] = [
    { kind: "function", schema: "public", objects: MAINTENANCE_FUNCTIONS, privileges: ["EXECUTE"] },
    { kind: "table", schema: "public", objects: MEMORY_TABLES, privileges: ["TRUNCATE", "REFERENCES", "TRIGGER"] },
    { kind: "function", schema: "memory_stack", objects: ["trust_plain_claims"], privileges: ["EXECUTE"] },
    { kind: "table", schema: "memory_stack", objects: LEDGER_TABLES, privileges: ["INSERT", "UPDATE", "DELETE", "TRUNCATE"] },
];

/** The checks that say a role holds what `rule` gives it: one per privilege, object and column. */
export function privilegeChecks(rule: PrivilegeRule, roles: Record<Grantee, string>): PrivilegeCheck[] {
    return rule.privileges.flatMap((privilege) =>
        (rule.objects.length === 0 ? [""] : rule.objects).flatMap((object) =>
            (rule.columns ?? [""]).map((col) => ({
                role: roles[rule.grantee],
                kind: rule.objectType,
                schema: rule.schema ?? "",
                object,
                col,
                privilege,
                i: 0,
            })),
        ),
    );
}

/** Every privilege to check, in the order the catalog query gets them. */
export function privilegeExpectations(expected: Pick<Expectations, "appRole" | "adminRole">): Expected[] {
    const roles: Record<Grantee, string> = { app: expected.appRole, admin: expected.adminRole };
    const needed = (rule: PrivilegeRule): Expected[] => privilegeChecks(rule, roles).map((item) => ({ rule, needed: true, check: item }));
    const forbidden = APP_FORBIDDEN.flatMap(({ kind, schema, objects, privileges }) =>
        privileges.flatMap((privilege) =>
            objects.map((object) => ({ needed: false, check: { role: expected.appRole, kind, schema, object, col: "", privilege, i: 0 } })),
        ),
    );
    return [...PRIVILEGE_RULES.flatMap(needed), ...CLAIM_GRANTS.flatMap(needed), ...forbidden].map((item, i) => ({
        ...item,
        check: { ...item.check, i },
    }));
}

/**
 * SQL: whether role `r` holds check `c` (a PrivilegeCheck row); null where the role or the object is
 * missing. Objects are looked up to an oid first, so a missing one gives null instead of an error.
 */
export const HAS_PRIVILEGE = `case c.kind
        when 'database' then has_database_privilege(r.oid, current_database(), c.privilege)
        when 'schema' then has_schema_privilege(r.oid, to_regnamespace(c.schema), c.privilege)
        when 'table' then has_table_privilege(r.oid, to_regclass(format('%I.%I', c.schema, c.object)), c.privilege)
        when 'column' then has_column_privilege(r.oid, to_regclass(format('%I.%I', c.schema, c.object)),
            (select a.attnum from pg_attribute a where a.attrelid = to_regclass(format('%I.%I', c.schema, c.object))
                and a.attname = c.col and not a.attisdropped), c.privilege)
        when 'function' then has_function_privilege(r.oid,
            (select p.oid from pg_proc p where p.pronamespace = to_regnamespace(c.schema) and p.proname = c.object limit 1), c.privilege)
      end`;

/**
 * The catalog query's part: per check, whether the role holds the privilege; null where the role or
 * the object is missing (reported on their own). $2 is the checks as JSON, $3 the two role names.
 * Objects are looked up to an oid first, so a missing one gives null instead of an error.
 */
export const PRIVILEGES_SQL = `
  'privileges', (select coalesce(json_agg(${HAS_PRIVILEGE} order by c.i), '[]')
      from json_to_recordset($2::json) as c(role text, kind text, schema text, object text, col text, privilege text, i int)
      left join pg_roles r on r.rolname = c.role),
  'database', current_database(),
  'verifier', current_user,
  'owner', (select pg_get_userbyid(relowner) from pg_class where oid = to_regclass('public.sessions')),
  'roles', (select coalesce(json_agg(json_build_object(
        'name', n.name, 'exists', r.oid is not null,
        'superuser', coalesce(r.rolsuper, false), 'bypassRls', coalesce(r.rolbypassrls, false), 'createRole', coalesce(r.rolcreaterole, false),
        'verifierMember', coalesce(pg_has_role(current_user, r.oid, 'member'), false),
        'memberOf', (select coalesce(json_agg(g.rolname order by g.rolname), '[]') from pg_roles g
                     where g.oid <> r.oid and pg_has_role(r.oid, g.oid, 'member')
                       and (g.rolname = any($3::text[]) or g.rolsuper
                            or g.oid = (select relowner from pg_class where oid = to_regclass('public.sessions'))
                            -- the app role (first of $3): a role it may become that bypasses row level security or grants roles
                            or (n.i = 1 and (g.rolbypassrls or g.rolcreaterole)))),
        'creates', (select coalesce(json_agg(json_build_object(
                        'schema', s.nspname, 'viaPublic', has_schema_privilege('public', s.oid, 'CREATE')) order by s.nspname), '[]')
                    from pg_namespace s where ${SQUAT_SCHEMAS} and has_schema_privilege(r.oid, s.oid, 'CREATE'))
      ) order by n.i), '[]')
      from unnest($3::text[]) with ordinality as n(name, i) left join pg_roles r on r.rolname = n.name)`;

export interface PrivilegeSnapshot {
    /** Per check of privilegeExpectations, in order: held, or null where role or object is missing. */
    privileges: (boolean | null)[];
    database: string;
    verifier: string;
    /** Owner of the memory tables; null without them. */
    owner: string | null;
    roles: RoleFacts[];
}

/** Each role's problems, and the "role <name>" / "privileges <name>" the behaviour checks as that role need. */
export function comparePrivileges(
    expected: Pick<Expectations, "appRole" | "adminRole">,
    snapshot: PrivilegeSnapshot,
): { problems: Problem[]; broken: string[] } {
    const problems: Problem[] = [];
    const broken: string[] = [];
    const { appRole, adminRole } = expected;
    for (const role of snapshot.roles) {
        const issues: string[] = [];
        if (!role.exists) {
            issues.push("missing; the schema's policies name it (create it, or let `pulumi up` or the schema create it)");
        } else {
            if (role.name === appRole && (role.superuser || role.bypassRls)) {
                issues.push(`${role.superuser ? "is a superuser" : "has BYPASSRLS"}: row level security does not apply to it`);
            } else if (role.name === appRole && role.createRole) {
                issues.push(
                    `has CREATEROLE: it can grant itself ${adminRole} (or any other role that is no superuser) and see every user's rows: ` +
                        `alter role ${sqlName(role.name)} nocreaterole`,
                );
            }
            // The admin role may well be a member of the app role; the app role of nothing.
            const escapes = role.memberOf.filter((other) => role.name === appRole || other !== appRole);
            if (escapes.length > 0) {
                issues.push(
                    `can SET ROLE to ${escapes.join(", ")}, which ${role.name === appRole ? "sees other users' rows" : "row level security does not restrict"}: ` +
                        escapes.map((other) => `revoke ${sqlName(other)} from ${sqlName(role.name)}`).join("; "),
                );
            }
            if (!role.verifierMember) {
                issues.push(
                    `${snapshot.verifier}, which verifies, is not a member of it, so row level security cannot be checked as ${role.name}: ` +
                        `grant ${sqlName(role.name)} to ${sqlName(snapshot.verifier)}`,
                );
            }
        }
        if (issues.length > 0) {
            problems.push({ kind: "role", name: role.name, issue: issues.join("; ") });
            broken.push(`role ${role.name}`);
        }
    }

    const expectations = privilegeExpectations(expected);
    for (const role of [appRole, adminRole]) {
        const missing = new Map<PrivilegeRule, Set<string>>();
        const forbidden: string[] = [];
        expectations.forEach(({ rule, check, needed }, i) => {
            const held = snapshot.privileges[i];
            if (check.role !== role || held === null || held === undefined || held === needed) return;
            if (needed && rule) {
                missing.set(rule, new Set([...(missing.get(rule) ?? []), check.privilege]));
            } else {
                forbidden.push(`${check.privilege} on ${check.schema}.${check.object}`);
            }
        });
        if (missing.size > 0) {
            // One statement per rule with what is missing of it: the statements to run, not a diagnosis.
            const statements = [...missing].map(
                ([rule, privileges]) =>
                    renderGrants([{ ...rule, privileges: rule.privileges.filter((p) => privileges.has(p)) }], {
                        database: snapshot.database,
                        roles: { app: appRole, admin: adminRole },
                    })[0],
            );
            problems.push({
                kind: "privilege",
                name: role,
                issue: `cannot use the memory schema yet: it lacks ${statements.length} grant(s); run ${statements.join("; ")}`,
            });
            broken.push(`privileges ${role}`);
        }
        if (forbidden.length > 0) {
            problems.push({
                kind: "privilege",
                name: role,
                issue: `holds what row level security cannot restrict or only the admin role or a plainClaimLogins login may use (${forbidden.join(", ")}): revoke them from public and ${role}`,
            });
        }
        // The app role only: Supabase gives its admin role (service_role) CREATE on public on purpose.
        const creates = (role === appRole && snapshot.roles.find((facts) => facts.name === role)?.creates) || [];
        if (creates.length > 0) {
            const statements = creates.map(
                ({ schema, viaPublic }) =>
                    `revoke create on schema ${quoteIdentifier(schema)} from ${viaPublic ? "public" : quoteIdentifier(role)}`,
            );
            problems.push({
                kind: "privilege",
                name: role,
                issue:
                    `can create objects in schema ${creates.map((c) => c.schema).join(", ")}: a function or operator it creates there can ` +
                    `take the place of one that the owner (migrating, verifying) or the admin role calls, and run with that role's rights ` +
                    `(PUBLIC keeps CREATE on public in databases from before PostgreSQL 15); run ${statements.join("; ")}`,
            });
        }
    }
    return { problems, broken };
}
