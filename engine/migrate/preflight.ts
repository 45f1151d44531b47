// Preflight: everything that would make an apply fail half way, or adopt what is not the stack's,
// found before any change (under the migration lock in apply, and the same list from `plan`). Driven
// by the manifest: every name the schema would create (tables, views, indexes, functions by name,
// triggers, policies, and a type of the same name) that exists and is not recorded as the stack's is
// a conflict. Objects the schema shares by design are not: users (it adds its memory columns),
// extensions, auth.uid() and the auth schema (Supabase has its own), and existing roles.
import type { QueryResult } from "pg";
import type { SqlClient } from "../db/client";
import { textArray } from "../db/literal";
import { expectedObjects, USERS_MEMORY_COLUMNS } from "./manifest";
import type { RecordedObject } from "./ownership";
import { extensionConflicts, extensionsRead, type ExtensionRow } from "./preflight-extensions";
import {
    availableRead,
    rename,
    RIGHTS_READ,
    rightsConflicts,
    rolesRead,
    type AvailableRow,
    type RightsRow,
    type RoleRow,
} from "./preflight-rights";
import { comparedOrigins, REUSED_REASON, reusedRecords } from "./identity";
import { FUNCTION_ARGUMENTS, snapshot } from "./snapshot";
import type { SchemaOptions } from "./render";
import { applyAsOwner, HIDDEN_MEMORY_TABLES } from "./row-security";
import { SESSION_READ, sessionConflicts, type SessionRow } from "./preflight-session";
import { embeddingNameConflicts, embeddingNamesRead, type EmbeddingNameRow } from "./preflight-embedding-names";

export interface Conflict {
    /** What is in the way, e.g. "table public.audit_logs (50 rows)". */
    object: string;
    /** Why it stops the apply. */
    problem: string;
    /** What to do. */
    fix: string;
}

export class PreflightRefusedError extends Error {
    constructor(readonly conflicts: Conflict[]) {
        super(
            `refusing to apply the memory schema: ${conflicts.length} conflict${conflicts.length === 1 ? "" : "s"} found before any change; nothing was changed.\n` +
                formatConflicts(conflicts),
        );
        this.name = "PreflightRefusedError";
    }
}

export function formatConflicts(conflicts: Conflict[]): string {
    return conflicts.map((conflict) => `- ${conflict.object}: ${conflict.problem}. ${conflict.fix}`).join("\n");
}

// Column types as format_type prints them.
const MEMORY_COLUMN_TYPES: Record<string, string> = {
    memory_preferences: "jsonb",
    memory_enabled: "boolean",
    last_memory_activity_at: "timestamp with time zone",
};

const RELKINDS: Record<string, string> = {
    r: "table",
    p: "table",
    v: "view",
    m: "materialized view",
    i: "index",
    I: "index",
    S: "sequence",
    f: "foreign table",
    c: "type",
};

/** Every conflict an apply of `options` would meet; [] when it may go ahead. Reads only. */
export async function preflight(client: SqlClient, options: SchemaOptions, recorded: RecordedObject[]): Promise<Conflict[]> {
    const manifest = expectedObjects(options);
    // A recorded name someone else created again is the application's object, like any it made (identity.ts).
    const reused = new Set(
        recorded.length === 0
            ? []
            : reusedRecords(recorded, await snapshot(client), await comparedOrigins(client)).map((record) => record.identity),
    );
    const records = recorded.filter((record) => !reused.has(record.identity));
    const notOurs = (identity: string) =>
        reused.has(identity) ? `was ${REUSED_REASON}, so it is not the stack's` : "exists and is not the stack's";
    const owned = new Set(
        records.map((record) => `${record.kind === "function" ? "function" : "relation"} ${record.schema}.${record.name}`),
    );
    const ownedIdentities = new Set(records.map((record) => record.identity));
    const conflicts: Conflict[] = [];

    // Every read of the preflight in one round trip (literals inlined: a plain query carries no parameters): the schema's
    // names that exist (relations and same-named types in public, functions by name, triggers and policies on the memory
    // tables), public.users, who is connecting, the roles, the extensions.
    const relationNames = [...manifest.tables, ...manifest.views, ...manifest.indexes.map((index) => index.name)];
    const functionNames = [...new Set(manifest.functions.filter((signature) => signature !== "auth.uid()").map(functionName))];
    const reads = [
        foundRead(
            relationNames,
            functionNames,
            manifest.triggers.map((t) => `${t.table}.${t.name}`),
            manifest.policies.map((p) => `${p.table}.${p.name}`),
        ),
        USERS_READ,
        USERS_COLUMNS_READ,
        RIGHTS_READ,
        availableRead(manifest.extensions),
        extensionsRead(manifest.extensions),
        HIDDEN_MEMORY_TABLES,
        embeddingNamesRead(options.vector),
        SESSION_READ,
        ...(options.rls ? [rolesRead(options)] : []),
    ];
    const [found, users, columns, rights, available, extensions, hidden, embeddingNames, session, roles] = (await client.query(
        reads.join(";\n"),
    )) as unknown as Reads;
    for (const relation of found.rows.filter((row) => row.kind === "relation" || row.kind === "type")) {
        if (relation.kind === "relation" && owned.has(`relation public.${relation.name}`)) {
            continue;
        }
        const what = relation.kind === "type" ? "type" : RELKINDS[relation.relkind!];
        const rows = what === "table" ? ` (${await countRows(client, relation.name)})` : "";
        conflicts.push({
            object: `${what} public.${relation.name}${rows}`,
            problem: `${notOurs(`${what} public.${relation.name}`)}, and the memory schema creates ${describeWanted(relation.name, manifest)} of that name`,
            // Renaming a table keeps its indexes' names (audit_logs_pkey): say so where it bites.
            fix:
                what === "index"
                    ? `${rename("public")} (alter index public.${relation.name} rename to ...: renaming a table does not rename its indexes)`
                    : rename("public"),
        });
    }
    for (const fn of found.rows.filter((row) => row.kind === "function")) {
        if (!ownedIdentities.has(fn.identity!)) {
            conflicts.push({
                object: `function ${fn.signature}`,
                problem: `${notOurs(fn.identity!)}, and the memory schema creates a function named ${fn.schema}.${fn.name}`,
                fix: rename(fn.schema),
            });
        }
    }
    for (const part of found.rows.filter((row) => row.kind === "trigger" || row.kind === "policy")) {
        if (!ownedIdentities.has(part.identity!) && owned.has(`relation public.${part.table}`)) {
            conflicts.push({
                object: `${part.kind} ${part.name} on public.${part.table}`,
                problem: `${notOurs(part.identity!)}, and the memory schema creates one of that name`,
                fix: `Drop or rename it (it was not created by the stack)`,
            });
        }
    }

    conflicts.push(
        ...sessionConflicts(session.rows),
        ...usersConflicts(users.rows, columns.rows),
        ...rightsConflicts(rights.rows, roles?.rows, available.rows, options, records.length === 0),
        ...extensionConflicts(extensions.rows),
        ...embeddingNameConflicts(embeddingNames.rows, ownedIdentities),
        // A migration's backfill there would see only the rows the policies show it, and skip the rest without an error. No
        // migration writes the rows of users, and the application's own tables (written by its triggers on a memory table,
        // say) keep their policies, as for any other role.
        ...hidden.rows.map(({ hidden: table, me }) => ({
            object: `table ${table}`,
            problem:
                `row level security applies to ${me} there (the table forces it on its owner, or ${me} is not its owner): ` +
                "a migration that reads or rewrites its rows would miss the ones its policies hide",
            fix: applyAsOwner([table]),
        })),
    );
    return conflicts;
}

/** The results of the preflight's reads, in their order; the roles' only with rls. */
type Reads = [
    QueryResult<FoundRow>,
    QueryResult<UsersRow>,
    QueryResult<ColumnRow>,
    QueryResult<RightsRow>,
    QueryResult<AvailableRow>,
    QueryResult<ExtensionRow>,
    QueryResult<{ hidden: string; me: string }>,
    QueryResult<EmbeddingNameRow>,
    QueryResult<SessionRow>,
    QueryResult<RoleRow>?,
];

interface FoundRow {
    kind: string;
    schema: string;
    table: string | null;
    name: string;
    relkind: string | null;
    signature: string | null;
    identity: string | null;
}

/** SQL: which of the schema's names exist. */
function foundRead(relations: string[], functions: string[], triggers: string[], policies: string[]): string {
    return `select 'relation' as kind, 'public' as schema, null as table, c.relname as name, c.relkind::text as relkind, null as signature, null as identity
           from pg_class c where c.relnamespace = 'public'::regnamespace and c.relname = any(${textArray(relations)})
         union all
         select 'type', 'public', null, t.typname, t.typtype::text, null, null from pg_type t
          where t.typnamespace = 'public'::regnamespace and t.typname = any(${textArray(relations)}) and t.typtype in ('e', 'r', 'd', 'm')
         union all
         select 'function', n.nspname, null, p.proname, null,
                -- as regprocedure prints it with public on the search_path: the engine's is pg_catalog alone
                case when n.nspname = 'public' then '' else quote_ident(n.nspname) || '.' end || quote_ident(p.proname)
                    || '(' || replace(oidvectortypes(p.proargtypes), ', ', ',') || ')',
                'function ' || quote_ident(n.nspname) || '.' || quote_ident(p.proname) || '(' || ${FUNCTION_ARGUMENTS} || ')'
           from pg_proc p join pg_namespace n on n.oid = p.pronamespace
          where p.proname = any(${textArray(functions.flatMap(unqualified))}) and n.nspname || '.' || p.proname = any(${textArray(functions)})
         union all
         select 'trigger', 'public', c.relname, t.tgname, null, null, 'trigger public.' || quote_ident(c.relname) || '.' || quote_ident(t.tgname)
           from pg_trigger t join pg_class c on c.oid = t.tgrelid
          where c.relnamespace = 'public'::regnamespace and not t.tgisinternal and (c.relname || '.' || t.tgname) = any(${textArray(triggers)})
         union all
         select 'policy', 'public', c.relname, p.polname, null, null, 'policy public.' || quote_ident(c.relname) || '.' || quote_ident(p.polname)
           from pg_policy p join pg_class c on c.oid = p.polrelid
          where c.relnamespace = 'public'::regnamespace and (c.relname || '.' || p.polname) = any(${textArray(policies)})`;
}

// A foreign key needs a unique index on users(id) that is checked at once: not partial, not deferrable.
const USERS_READ = `select c.relkind::text as relkind, (select format_type(a.atttypid, a.atttypmod) from pg_attribute a where a.attrelid = c.oid and a.attname = 'id' and not a.attisdropped) as id_type,
                exists (select from pg_index i join pg_attribute a on a.attrelid = i.indrelid and a.attnum = i.indkey[0]
                         where i.indrelid = c.oid and i.indisunique and i.indimmediate and i.indnkeyatts = 1 and i.indpred is null and a.attname = 'id') as unique_id,
                (select k.conname from pg_constraint k where k.conrelid = c.oid and k.contype in ('p', 'u') and k.condeferrable
                    and k.conkey = array[(select a.attnum from pg_attribute a where a.attrelid = c.oid and a.attname = 'id')] limit 1) as deferrable_unique,
                pg_has_role(c.relowner, 'MEMBER') as may_alter, pg_get_userbyid(c.relowner) as owner
           from pg_class c where c.oid = to_regclass('public.users')`;

interface UsersRow {
    relkind: string;
    id_type: string | null;
    unique_id: boolean;
    deferrable_unique: string | null;
    may_alter: boolean;
    owner: string;
}

const USERS_COLUMNS_READ = `select attname as name, format_type(atttypid, atttypmod) as type from pg_attribute
          where attrelid = to_regclass('public.users') and attname = any(${textArray(USERS_MEMORY_COLUMNS)}) and not attisdropped`;

interface ColumnRow {
    name: string;
    type: string;
}

function usersConflicts(users: UsersRow[], columns: ColumnRow[]): Conflict[] {
    const conflicts: Conflict[] = [];
    if (users.length === 0) {
        return conflicts;
    }
    const [{ relkind, id_type: idType, unique_id: uniqueId, deferrable_unique: deferrableUnique, may_alter: mayAlter, owner }] = users;
    if (relkind !== "r" && relkind !== "p") {
        const what = RELKINDS[relkind] ?? "relation";
        conflicts.push({
            object: `${what} public.users`,
            problem:
                `is a ${what}, not a table: the memory tables reference users(id) with foreign keys and the memory schema adds its columns to users, ` +
                "so users must be the table that holds your users",
            fix:
                `Rename the ${what} out of the way and the table behind it to users (alter ${what} public.users rename to ...; ` +
                "alter table ... rename to users), or deploy the memory schema into a database of its own",
        });
        return conflicts;
    }
    if (idType !== "uuid") {
        conflicts.push({
            object: "table public.users",
            problem:
                idType === null
                    ? "has no id column, and the memory tables reference users(id)"
                    : `users.id is ${idType}, and the memory tables need a uuid users.id`,
            fix: "Migrate users.id to uuid first, or deploy the memory schema into a database whose users.id is uuid",
        });
    } else if (!uniqueId && deferrableUnique !== null) {
        conflicts.push({
            object: "table public.users",
            problem: `users.id is unique only through the deferrable constraint ${deferrableUnique}, and foreign keys cannot reference a deferrable constraint`,
            fix: "Add a unique index checked at once beside it (create unique index on public.users (id)), or make users.id the primary key",
        });
    } else if (!uniqueId) {
        conflicts.push({
            object: "table public.users",
            problem: "users.id is neither a primary key nor unique, so foreign keys cannot reference it",
            fix: "alter table public.users add primary key (id)",
        });
    }
    for (const column of columns) {
        if (column.type !== MEMORY_COLUMN_TYPES[column.name]) {
            conflicts.push({
                object: `column public.users.${column.name} (${column.type})`,
                problem: `the memory schema needs ${column.name} of type ${MEMORY_COLUMN_TYPES[column.name]} and would use this column as it is`,
                fix: `Rename the application's column (alter table public.users rename column ${column.name} to ...) or change its type`,
            });
        }
    }
    if (columns.length < USERS_MEMORY_COLUMNS.length && !mayAlter) {
        conflicts.push({
            object: "table public.users",
            problem: `the memory columns must be added to it and the connecting role is not its owner (${owner}) or a member of that role`,
            fix: `Connect as ${owner} (or a member of it), or add the columns ${USERS_MEMORY_COLUMNS.filter((name) => !columns.some((c) => c.name === name)).join(", ")} as ${owner}`,
        });
    }
    return conflicts;
}

function describeWanted(name: string, manifest: ReturnType<typeof expectedObjects>): string {
    if (manifest.tables.includes(name)) return "a table";
    if (manifest.views.includes(name)) return "a view";
    return "an index";
}

/**
 * What may be the function's own name in "schema.name": the text after each dot. The found read looks functions up by
 * these first (pg_proc's index on proname), then compares the whole qualified name, instead of concatenating it for
 * every function in the database.
 */
function unqualified(qualified: string): string[] {
    return [...qualified.matchAll(/\./g)].map((dot) => qualified.slice(dot.index + 1));
}

function functionName(signature: string): string {
    return signature.slice(0, signature.indexOf("("));
}

/** "50 rows", counting at most 100 000 of them. */
async function countRows(client: SqlClient, table: string): Promise<string> {
    const quoted = `public."${table.replace(/"/g, '""')}"`;
    const readable = await client.query<{ ok: boolean; hidden: boolean }>(
        "select has_table_privilege($1, 'select') as ok, row_security_active($1) as hidden",
        [quoted],
    );
    if (!readable.rows[0].ok) {
        return "rows not readable by the connecting role";
    }
    if (readable.rows[0].hidden) {
        // the policies would filter the count: it would be wrong
        return "rows not all visible to the connecting role: row level security applies to it";
    }
    const result = await client.query<{ n: string }>(`select count(*) as n from (select from ${quoted} limit 100001) t`);
    const n = Number(result.rows[0].n);
    return n > 100_000 ? "over 100000 rows" : `${n} row${n === 1 ? "" : "s"}`;
}
