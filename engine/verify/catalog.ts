// The existence half of verification: ONE catalog query returns every object of every kind the
// schema could own (by name, with what proves its version) and, with rls, the roles' privileges as
// deployed (privileges.ts); then a pure comparison with the expectations lists each one that is
// missing, not what the migrations made, or not usable by the roles.
import type { SqlClient } from "../db/client";
import { SEED_FUNCTIONS, TRIGGERS } from "../migrate/manifest";
import { quoteIdentifier } from "../migrate/render";
import { functionName, type Expectations } from "./expected";
import { expectedFunction } from "./fingerprints";
import { describeUnrestricted, revokeUnrestricted, UNRESTRICTED_HELD, type Unrestricted } from "../migrate/unrestricted-privileges";
import { comparePrivileges, privilegeExpectations, PRIVILEGES_SQL, type PrivilegeSnapshot } from "./privileges";
import type { ObjectCounts, Problem } from "./report";
import { columnTypeProblems, constraintProblems, triggerIssue, volatilityIssue, widenedPolicies } from "./shapes";

export interface CatalogSnapshot extends PrivilegeSnapshot {
    /** memory_stack.migrations exists: the schema was applied here at some point. */
    ledger: boolean;
    /** The verifying session's session_replication_role: replica (or local) when the database or role sets it. */
    replicationRole: string;
    /**
     * session_replication_role other than origin set on the app or admin role (alter role … [in database …] set), the one
     * their own logins get here. Roles are the server's: another database's operator may have set it. Absent: none.
     */
    roleReplication?: { role: string; value: string; inDatabase: boolean }[];
    /** memory_stack.created_objects exists: what the stack created is recorded (ownership.ts reads it). */
    recorded: boolean;
    extensions: string[];
    /** Tables, views and anything else with a name in schema public, with its relkind, RLS flag and (views) security_invoker. */
    relations: { name: string; kind: string; rls: boolean; invoker: boolean }[];
    columns: { table: string; name: string }[];
    indexes: { table: string; name: string; valid: boolean }[];
    /** "schema.name(identity arguments)" as the manifest writes it; `arguments`: the input types as fingerprints.ts keys them ("text,jsonb,int4"). */
    functions: { signature: string; arguments: string; bodyMd5: string; securityDefiner: boolean; volatility: string }[];
    /** `firing` is pg_trigger.tgenabled: O (origin, the usual), A (always), R (replica sessions only), D (never). */
    triggers: { table: string; name: string; tgtype: number; firing: string; when: boolean; columns: string[]; function: string }[];
    /** `widens`: permissive and applying to the app role (directly, through PUBLIC or a role it is a member of). */
    policies: { table: string; name: string; widens: boolean }[];
    /** Test users can be inserted into users and vanish with the rollback, leaving no trace. */
    usersInsertable: boolean;
    /** Check constraints and single-column foreign keys on tables in public, as fingerprints.ts names them. */
    constraints: {
        table: string;
        name: string;
        kind: "check" | "foreign key";
        onDelete: string | null;
        /** A check's rule as pg_get_constraintdef prints it, without NOT VALID (validated says that). */
        rule: string | null;
        validated: boolean;
        conname: string;
    }[];
    /** The server's major version: check rules are compared as PostgreSQL 15 prints them (check-rules.ts). */
    serverMajor: number;
    /** Grantees other than the owner and the app role (reported with its own privileges) holding what unrestricted-privileges.ts takes. */
    unrestricted: Unrestricted[];
    /** The memory tables' columns whose type is not the one the migrations create them with. */
    columnTypes: { table: string; name: string; type: string; expected: string }[];
}

// Schemas are looked up by name, never cast with ::regnamespace, so a database without the
// schema (or without auth) answers with empty lists instead of an error. Verification runs with
// search_path pg_catalog (index.ts), where pgvector's types print schema-qualified: signatures drop
// that prefix again, as the manifest writes them.
const CATALOG_SQL = `
with ns as (select oid, nspname from pg_namespace where nspname in ('public', 'auth', 'memory_stack')),
     vector_prefix as (select coalesce((select quote_ident(n.nspname) || '.' from pg_extension e
                                        join pg_namespace n on n.oid = e.extnamespace where e.extname = 'vector'), '') as prefix),
     pub as (select oid from ns where nspname = 'public'),
     rel as (select c.oid, c.relname, c.relkind, c.relrowsecurity, c.reloptions from pg_class c where c.relnamespace in (select oid from pub)),
     app as (select oid from pg_roles where rolname = ($3::text[])[1]),
     -- the roles and every login granted them (createRoles false's <role>_login): a session takes its login's settings, not
     -- those of the role it becomes
     acting as (with recursive m (oid) as (select oid from pg_roles where rolname = any($3::text[])
                                           union select a.member from pg_auth_members a join m on a.roleid = m.oid)
                select oid from m)
select json_build_object(
  'ledger', to_regclass('memory_stack.migrations') is not null,
  'replicationRole', current_setting('session_replication_role'),
  'roleReplication', (select coalesce(json_agg(json_build_object('role', x.rolname, 'value', x.value, 'inDatabase', x.in_database) order by x.rolname), '[]') from (
      select distinct on (r.rolname) r.rolname, substr(c.setting, length('session_replication_role=') + 1) as value,
             s.setdatabase <> 0 as in_database
        from pg_roles r
        join pg_db_role_setting s on s.setrole = r.oid
             and s.setdatabase in (0, (select oid from pg_database where datname = current_database()))
        cross join unnest(s.setconfig) c (setting)
       where (r.rolname = any($3::text[]) or (r.rolcanlogin and r.oid in (select oid from acting)))
         and c.setting like 'session_replication_role=%'
       order by r.rolname, s.setdatabase desc) x where x.value <> 'origin'),
  'recorded', to_regclass('memory_stack.created_objects') is not null,
  'serverMajor', current_setting('server_version_num')::int / 10000,
  'extensions', (select coalesce(json_agg(extname order by extname), '[]') from pg_extension),
  'relations', (select coalesce(json_agg(json_build_object('name', relname, 'kind', relkind, 'rls', relrowsecurity,
                    'invoker', coalesce((select o.option_value::boolean from pg_options_to_table(reloptions) o
                                         where o.option_name = 'security_invoker'), false)) order by relname), '[]')
                from rel where relkind in ('r', 'p', 'v', 'm', 'f')),
  'columns', (select coalesce(json_agg(json_build_object('table', r.relname, 'name', a.attname)), '[]')
              from pg_attribute a join rel r on r.oid = a.attrelid
              where r.relname = any($1::text[]) and r.relkind in ('r', 'p') and a.attnum > 0 and not a.attisdropped),
  'indexes', (select coalesce(json_agg(json_build_object('table', t.relname, 'name', i.relname, 'valid', x.indisvalid)), '[]')
              from pg_index x join rel t on t.oid = x.indrelid join pg_class i on i.oid = x.indexrelid),
  'functions', (select coalesce(json_agg(json_build_object(
                    'signature', n.nspname || '.' || p.proname || '(' ||
                        replace(pg_get_function_identity_arguments(p.oid), (select prefix from vector_prefix) || 'vector', 'vector') || ')',
                    'arguments', (select coalesce(string_agg(case when t.typelem <> 0 and t.typlen = -1 then e.typname || '[]' else t.typname end,
                                                             ',' order by a.n), '')
                                  from unnest(p.proargtypes::oid[]) with ordinality a (type, n)
                                  join pg_type t on t.oid = a.type left join pg_type e on e.oid = t.typelem),
                    'bodyMd5', md5(p.prosrc), 'securityDefiner', p.prosecdef, 'volatility', p.provolatile)), '[]')
                from pg_proc p join ns n on n.oid = p.pronamespace),
  'triggers', (select coalesce(json_agg(json_build_object('table', r.relname, 'name', t.tgname, 'tgtype', t.tgtype,
                    'firing', t.tgenabled, 'when', t.tgqual is not null,
                    'columns', (select coalesce(json_agg(a.attname order by k.n), '[]') from unnest(t.tgattr::int2[]) with ordinality k (attnum, n)
                                join pg_attribute a on a.attrelid = t.tgrelid and a.attnum = k.attnum),
                    'function', fn.nspname || '.' || f.proname)), '[]')
               from pg_trigger t join rel r on r.oid = t.tgrelid
               join pg_proc f on f.oid = t.tgfoid join pg_namespace fn on fn.oid = f.pronamespace
               where not t.tgisinternal),
  'constraints', (select coalesce(json_agg(json_build_object('table', r.relname,
                      'name', case c.contype when 'c' then c.conname::text end, 'column', a.attname, 'references', f.relname,
                      'kind', case c.contype when 'c' then 'check' else 'foreign key' end,
                      'onDelete', case c.contype when 'f' then c.confdeltype end,
                      'rule', case c.contype when 'c' then regexp_replace(pg_get_constraintdef(c.oid), ' NOT VALID$', '') end, 'validated', c.convalidated,
                      'conname', c.conname)), '[]')
                  from pg_constraint c join rel r on r.oid = c.conrelid and r.relname = any($1::text[])
                  left join pg_class f on f.oid = c.confrelid
                  left join pg_attribute a on a.attrelid = c.conrelid and a.attnum = c.conkey[1]
                  where c.contype = 'c' or (c.contype = 'f' and cardinality(c.conkey) = 1)),
  'columnTypes', (select coalesce(json_agg(json_build_object('table', e.table_name, 'name', e.column_name,
                      'type', format_type(a.atttypid, a.atttypmod), 'expected', coalesce(format_type(to_regtype(e.type_name), null), e.type_name))), '[]')
                  from json_to_recordset($4::json) e (table_name text, column_name text, type_name text)
                  join rel r on r.relname = e.table_name and r.relkind in ('r', 'p')
                  join pg_attribute a on a.attrelid = r.oid and a.attname = e.column_name and not a.attisdropped
                  where a.atttypid is distinct from to_regtype(e.type_name)),
  'policies', (select coalesce(json_agg(json_build_object('table', r.relname, 'name', p.polname,
                    'widens', p.polpermissive and exists (select from app, unnest(p.polroles) g (oid)
                                                          where g.oid = 0 or pg_has_role(app.oid, g.oid, 'member')))), '[]')
               from pg_policy p join rel r on r.oid = p.polrelid),
  -- Test users can be inserted (and vanish with the rollback) only when no column of users needs a
  -- value we cannot invent or draws from a sequence (nextval is not rolled back).
  'usersInsertable', exists (select from rel where relname = 'users' and relkind in ('r', 'p')) and not exists (
        select from pg_attribute a join rel r on r.oid = a.attrelid and r.relname = 'users'
        left join pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
        where a.attnum > 0 and not a.attisdropped and a.attname <> 'id'
          and (a.attidentity <> '' or pg_get_expr(d.adbin, d.adrelid) like 'nextval(%'
               or (a.attnotnull and d.adbin is null and a.attgenerated = ''))),
  'unrestricted', (select coalesce(json_agg(u), '[]') from (${UNRESTRICTED_HELD}) u where u.grantee is distinct from quote_ident(($3::text[])[1])),
${PRIVILEGES_SQL}
) as catalog`;

export async function readCatalog(client: SqlClient, expected: Expectations): Promise<CatalogSnapshot> {
    // Without rls the roles are no part of the schema's contract: nothing to ask about them.
    const checks = expected.rls ? privilegeExpectations(expected).map((item) => item.check) : [];
    const roles = expected.rls ? [expected.appRole, expected.adminRole] : [];
    const columnTypes = expected.manifest.tables.flatMap((table) =>
        Object.entries(expected.fingerprints.columns?.[table] ?? {}).map(([column, { type }]) => ({
            table_name: table,
            column_name: column,
            type_name: type,
        })),
    );
    const result = await client.query<{ catalog: Omit<CatalogSnapshot, "constraints"> & { constraints: ReadConstraint[] } }>(CATALOG_SQL, [
        Object.keys(expected.columns),
        JSON.stringify(checks),
        roles,
        JSON.stringify(columnTypes),
    ]);
    const { catalog } = result.rows[0];
    // A foreign key's "<column> → <referenced table>" is put together here: the query's text stays ASCII, which a database
    // in any encoding reads (LATIN1 has no arrow: the whole query was refused).
    const constraints = catalog.constraints.map(({ column, references, ...constraint }) => ({
        ...constraint,
        name: constraint.name ?? `${column} → ${references}`,
    }));
    return { ...catalog, constraints };
}

/** A constraint as the query returns it: a foreign key's name null, its column and referenced table beside it. */
type ReadConstraint = Omit<CatalogSnapshot["constraints"][number], "name"> & { name: string | null; column?: string; references?: string };

export interface CatalogResult {
    problems: Problem[];
    counts: ObjectCounts;
    /** Every object found missing or broken, as "kind name", for skipping the checks that use it. */
    broken: Set<string>;
}

export function compareCatalog(expected: Expectations, snapshot: CatalogSnapshot): CatalogResult {
    const { manifest, fingerprints } = expected;
    const problems: Problem[] = [];
    const broken = new Set<string>();
    const report = (kind: Problem["kind"], name: string, issue: string) => {
        problems.push({ kind, name, issue });
        broken.add(`${kind} ${name}`);
    };
    const counts: ObjectCounts = {
        extensions: 0,
        tables: 0,
        columns: 0,
        views: 0,
        functions: 0,
        otherFunctions: 0,
        triggers: 0,
        otherTriggers: 0,
        indexes: 0,
        policies: 0,
        rlsTables: 0,
    };

    const extensions = new Set(snapshot.extensions);
    for (const name of manifest.extensions) {
        if (extensions.has(name)) counts.extensions++;
        else report("extension", name, "missing");
    }

    const relations = new Map(snapshot.relations.map((r) => [r.name, r]));
    const isRelation = (kind: "table" | "view", name: string): boolean => {
        const found = relations.get(name);
        const relkinds = kind === "table" ? ["r", "p"] : ["v"];
        if (found === undefined) {
            report(kind, name, "missing");
        } else if (!relkinds.includes(found.kind)) {
            report(kind, name, `is a ${KIND_NAMES[found.kind] ?? found.kind}, not a ${kind}`);
        }
        return found !== undefined && relkinds.includes(found.kind);
    };
    for (const table of manifest.tables) {
        if (isRelation("table", table)) counts.tables++;
    }
    for (const view of manifest.views) {
        if (!isRelation("view", view)) continue;
        // Only row level security makes it matter: as its owner, the view reads past every policy.
        if (expected.rls && !relations.get(view)!.invoker) {
            report(
                "view",
                view,
                "reads its tables as its owner (security_invoker is off), so row level security does not apply through it and " +
                    `whoever may select it sees every user's rows: alter view public.${view} set (security_invoker = true)`,
            );
        } else {
            counts.views++;
        }
    }
    const columns = new Set(snapshot.columns.map((c) => `${c.table}.${c.name}`));
    for (const [table, names] of Object.entries(expected.columns)) {
        const tableThere = relations.has(table);
        // users is not among the manifest's tables (it may be the application's), but the memory tables need it.
        if (!tableThere && !manifest.tables.includes(table)) {
            report("table", table, "missing");
        }
        for (const name of names) {
            // A missing table is one problem, not one per column.
            if (!tableThere) broken.add(`column ${table}.${name}`);
            else if (columns.has(`${table}.${name}`)) counts.columns++;
            else report("column", `${table}.${name}`, "missing");
        }
    }

    // Reported, but the checks still run: what they find says more than skipping every check of the table would.
    problems.push(...columnTypeProblems(snapshot, fingerprints));
    const present = manifest.tables.filter((table) => relations.has(table));
    constraintProblems(present, snapshot, fingerprints).forEach(({ name, issue }) => report("constraint", name, issue));

    const indexes = new Map(snapshot.indexes.map((i) => [`${i.table}.${i.name}`, i]));
    for (const { table, name } of manifest.indexes) {
        const found = indexes.get(`${table}.${name}`);
        if (found === undefined) report("index", `${table}.${name}`, "missing");
        else if (!found.valid) report("index", `${table}.${name}`, "invalid (a failed concurrent build?); reindex it");
        else counts.indexes++;
    }

    const functions = new Map(snapshot.functions.map((f) => [f.signature, f]));
    for (const signature of manifest.functions) {
        const found = functions.get(signature);
        const fingerprint = found && expectedFunction(fingerprints, functionName(signature), found.arguments);
        if (found === undefined || (fingerprint !== undefined && found.bodyMd5 !== fingerprint.bodyMd5)) {
            broken.add(`function ${functionName(signature)}`);
        }
        const volatility = found && volatilityIssue(signature, found, fingerprint);
        if (found === undefined) {
            report("function", signature, "missing");
        } else if (fingerprint !== undefined && found.bodyMd5 !== fingerprint.bodyMd5) {
            report("function", signature, `body differs from the one in ${fingerprint.migration}`);
        } else if (fingerprint !== undefined && found.securityDefiner !== fingerprint.securityDefiner) {
            report(
                "function",
                signature,
                `is security ${found.securityDefiner ? "definer" : "invoker"}, ${fingerprint.migration} says otherwise`,
            );
        } else if (volatility !== undefined) {
            report("function", signature, volatility);
        } else {
            const seed = SEED_FUNCTION_NAMES.has(functionName(signature));
            if (seed) counts.functions++;
            else counts.otherFunctions++;
        }
    }

    const triggers = new Map(snapshot.triggers.map((t) => [`${t.table}.${t.name}`, t]));
    for (const { table, name } of manifest.triggers) {
        const found = triggers.get(`${table}.${name}`);
        const definition = fingerprints.triggers[name];
        const issue = found === undefined ? "missing" : triggerIssue(found, definition);
        if (issue !== undefined) {
            report("trigger", `${table}.${name}`, issue);
        } else if (SEED_TRIGGER_NAMES.has(name)) {
            counts.triggers++;
        } else {
            counts.otherTriggers++;
        }
    }

    const policies = new Set(snapshot.policies.map((p) => `${p.table}.${p.name}`));
    for (const { table, name } of manifest.policies) {
        if (policies.has(`${table}.${name}`)) counts.policies++;
        else report("policy", `${table}.${name}`, "missing");
    }
    widenedPolicies(expected, snapshot).forEach(({ name, issue }) => report("policy", name, issue));
    for (const table of manifest.rlsTables) {
        const found = relations.get(table);
        if (found === undefined) continue; // already reported as a missing table
        if (found.rls) counts.rlsTables++;
        else report("rls", table, "row level security is disabled; alter table ... enable row level security");
    }
    if (snapshot.replicationRole !== "origin") {
        report(
            "trigger",
            REPLICA_SESSIONS,
            `do not fire: session_replication_role is ${snapshot.replicationRole} in this session, set on the database or the role ` +
                `(alter database … set, alter role … set), so in every session that inherits it no trigger of the schema fires and no ` +
                `foreign key is checked (derived columns, updated_at, the switch's sync); reset it there ` +
                `(alter database ${quoteIdentifier(snapshot.database)} reset session_replication_role), then verify again`,
        );
        manifest.triggers.forEach(({ table, name }) => broken.add(`trigger ${table}.${name}`));
    }
    // Not `broken`: the behaviour checks become the role (set role), which takes none of its settings, and still tell.
    for (const { role, value, inDatabase } of snapshot.roleReplication ?? []) {
        const where = inDatabase ? ` in database ${quoteIdentifier(snapshot.database)}` : "";
        problems.push({
            kind: "trigger",
            name: `${REPLICA_SESSIONS} of ${role}`,
            issue:
                `do not fire in its own sessions: session_replication_role = ${value} is set on the role (alter role … set; roles are ` +
                `the server's, so another database's operator may have set it), so no trigger of the schema fires and no foreign key ` +
                `is checked for its writes (rows attached to no user, derived columns not kept); ` +
                `alter role ${quoteIdentifier(role)}${where} reset session_replication_role, then verify again`,
        });
    }
    for (const held of snapshot.unrestricted) {
        report(
            "privilege",
            held.grantee,
            `holds ${describeUnrestricted(held)}, which no role but the owner may (default privileges may have given them): ` +
                `row level security does not restrict them, a trigger of its own would run as whoever writes next, and a row in the ` +
                `bookkeeping would have the rollback drop an application's table; run ${revokeUnrestricted(held).join("; ")}`,
        );
    }
    const privileges = comparePrivileges(expected, snapshot);
    problems.push(...privileges.problems);
    privileges.broken.forEach((item) => broken.add(item));
    return { problems, counts, broken };
}

/** The name a session_replication_role problem goes by; the checks of triggers and foreign keys need it. */
export const REPLICA_SESSIONS = "triggers and foreign keys";

const SEED_FUNCTION_NAMES = new Set(SEED_FUNCTIONS.map((name) => `public.${name}`));
const SEED_TRIGGER_NAMES = new Set(TRIGGERS.map((trigger) => trigger.name));

const KIND_NAMES: Record<string, string> = { r: "table", p: "partitioned table", v: "view", m: "materialized view", f: "foreign table" };
