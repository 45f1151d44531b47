// The catalog as identities: every object of the database (and every role), one round trip, named
// the same way in every session — "table public.sessions", "function public.close_session(uuid,text)"
// (argument types, schema-qualified outside pg_catalog), "column public.users.memory_enabled",
// "trigger public.sessions.update_sessions_updated_at" — with, inside a transaction, whether the
// current transaction created it (ownership.ts records those).
import type { QueryResult } from "pg";
import { preparedName, renamePrepared, type SqlClient } from "../db/client";
import { LEDGER_SCHEMA, LEDGER_TABLE, OWNERSHIP_TABLE, SEARCH_SETTINGS_TABLE } from "./ledger";
import { LOCK_STILL_HELD } from "./lock-held";
import { SET_LOCAL_SEARCH_PATH } from "./search-path";

export type ObjectKind =
    | "schema"
    | "extension"
    | "role"
    | "table"
    | "view"
    | "materialized view"
    | "index"
    | "sequence"
    | "foreign table"
    | "type"
    | "domain"
    | "function"
    | "trigger"
    | "policy"
    | "column"
    | "constraint";

export interface CatalogObject {
    identity: string;
    kind: ObjectKind;
    /** Null for schemas, extensions and roles. */
    schema: string | null;
    name: string;
    /** The table of an index, trigger, policy, column or constraint, or of a sequence a column owns. */
    parent: string | null;
    /** Functions: their argument types, comma separated ("" for none). */
    arguments: string | null;
    /** Creation order within a snapshot (the catalog's oid); null for columns, which have none. */
    oid: number | null;
    /** Created by the current transaction (catalog row written by it or one of its subtransactions); null: cannot tell (roles, see roles()). */
    created: boolean | null;
}

const USER_SCHEMA = `n.nspname not in ('pg_catalog', 'information_schema', 'pg_toast') and n.nspname not like 'pg\\_temp\\_%' and n.nspname not like 'pg\\_toast\\_temp\\_%'`;
const NOT_IN_EXTENSION = (catalog: string, column: string) =>
    `not exists (select from pg_depend d where d.classid = '${catalog}'::regclass and d.objid = ${column} and d.deptype = 'e')`;
// The engine's own bookkeeping (the ledger, the ownership table, the search settings it set) is neither recorded nor dropped by rollback.sql's loop.
const BOOKKEEPING = "b.oids";

/** SQL: the argument types of function `p`, as its identity names them ("uuid,text", "public.vector,int4,uuid"). */
export const FUNCTION_ARGUMENTS = `coalesce((select string_agg((select case when tn.nspname = 'pg_catalog' then quote_ident(t.typname)
                                                      else quote_ident(tn.nspname) || '.' || quote_ident(t.typname) end
                                                 from pg_type t join pg_namespace tn on tn.oid = t.typnamespace where t.oid = a.type),
                                        ',' order by a.n)
                     from unnest(p.proargtypes::oid[]) with ordinality a(type, n)), '')`;

// Whether the catalog row with this xmin was written by the current transaction or one of its
// subtransactions: age() counts from our own xid, so our xids (and those of transactions that began
// after ours) are not older than it; of those, the ones still in progress are ours, as another
// session's uncommitted rows are invisible to us.
const CREATED = (xmin: string) => `case when pg_current_xact_id_if_assigned() is not null and age(${xmin}) <= 0
        then pg_xact_status((pg_current_xact_id_if_assigned()::text::bigint - age(${xmin}))::text::xid8) = 'in progress'
        else false end`;

// FirstNormalObjectId: initdb's objects have lower oids, and a running server hands out none below it (the counter wraps back to
// it). Only a stand-alone backend run before the server's first start, or pg_upgrade keeping such an object, leaves an
// application's object below it: the catalog is then read whole (LOW_OIDS), otherwise from its oid indexes up from here.
const FIRST_NORMAL_OID = 16384;

/** SQL: whether the user schemas have a relation, function or type below FIRST_NORMAL_OID. */
const LOW_OIDS = [
    "pg_class c join pg_namespace n on n.oid = c.relnamespace where c.oid",
    "pg_proc p join pg_namespace n on n.oid = p.pronamespace where p.oid",
    "pg_type t join pg_namespace n on n.oid = t.typnamespace where t.oid",
]
    .map((from) => `exists (select from ${from} < ${FIRST_NORMAL_OID} and ${USER_SCHEMA})`)
    .join(" or ");

// One round trip. `bounded`: the relations (with their columns, constraints, triggers and policies), functions and types of
// the user schemas all have oids from FIRST_NORMAL_OID up. The user schemas and their relations are read once each (nsp,
// rels), for every kind that names them: the query plans in half the time a join per kind took, and it is planned again
// after every migration that changes a schema's catalog row (a grant on it, say), which resets every cached plan.
const SNAPSHOT = (bounded: boolean, rolesReadable: boolean) => {
    const from = (column: string) => (bounded ? `${column} >= ${FIRST_NORMAL_OID} and ` : "");
    return `
with bookkeeping as materialized (
    select coalesce(array_agg(oid), '{}') as oids from pg_class
     where oid in (to_regclass('${LEDGER_TABLE}'), to_regclass('${OWNERSHIP_TABLE}'), to_regclass('${SEARCH_SETTINGS_TABLE}'))
), nsp as materialized (
    select n.oid, n.nspname, n.xmin from pg_namespace n where ${USER_SCHEMA}
), rels as materialized (
    -- listed: neither an extension's nor the engine's bookkeeping (their triggers and policies are listed all the same)
    select c.oid, c.relname, c.relkind, c.xmin, n.nspname, c.oid <> all(${BOOKKEEPING}) and ${NOT_IN_EXTENSION("pg_class", "c.oid")} as listed
      from pg_class c join nsp n on n.oid = c.relnamespace cross join bookkeeping b
     where ${from("c.oid")}c.relkind in ('r', 'p', 'v', 'm', 'i', 'I', 'S', 'f', 'c')
), objects as (
    select 'schema' as kind, null::name as schema, n.nspname as name, null::name as parent, null::text as arguments,
           n.oid, n.xmin
      from nsp n where n.nspname <> '${LEDGER_SCHEMA}'
    union all
    select 'extension', null, e.extname, null, null, e.oid, e.xmin from pg_extension e where e.extname <> 'plpgsql'
    union all
    select case c.relkind when 'r' then 'table' when 'p' then 'table' when 'v' then 'view' when 'm' then 'materialized view'
                          when 'i' then 'index' when 'I' then 'index' when 'S' then 'sequence' when 'f' then 'foreign table' else 'type' end,
           c.nspname, c.relname,
           case when c.relkind in ('i', 'I') then (select t.relname from pg_index x join pg_class t on t.oid = x.indrelid where x.indexrelid = c.oid)
                when c.relkind = 'S' then (select t.relname from pg_depend d join pg_class t on t.oid = d.refobjid
                                            where d.classid = 'pg_class'::regclass and d.objid = c.oid and d.refclassid = 'pg_class'::regclass
                                              and d.deptype in ('a', 'i')) end,
           null, c.oid, c.xmin
      from rels c cross join bookkeeping b
     where c.listed and not exists (select from pg_index x where x.indexrelid = c.oid and x.indrelid = any(${BOOKKEEPING}))
    union all
    select 'function', n.nspname, p.proname, null, ${FUNCTION_ARGUMENTS}, p.oid, p.xmin
      from pg_proc p join nsp n on n.oid = p.pronamespace
     where ${from("p.oid")}${NOT_IN_EXTENSION("pg_proc", "p.oid")}
    union all
    select case t.typtype when 'd' then 'domain' else 'type' end, n.nspname, t.typname, null, null, t.oid, t.xmin
      from pg_type t join nsp n on n.oid = t.typnamespace
     where ${from("t.oid")}t.typtype in ('e', 'r', 'd') and ${NOT_IN_EXTENSION("pg_type", "t.oid")}
    union all
    select 'trigger', c.nspname, g.tgname, c.relname, null, g.oid, g.xmin
      from pg_trigger g join rels c on c.oid = g.tgrelid
     where not g.tgisinternal
    union all
    select 'policy', c.nspname, o.polname, c.relname, null, o.oid, o.xmin
      from pg_policy o join rels c on c.oid = o.polrelid
    union all
    select 'column', c.nspname, a.attname, c.relname, null, null, a.xmin
      from pg_attribute a join rels c on c.oid = a.attrelid
     where a.attnum > 0 and not a.attisdropped and c.relkind in ('r', 'p') and c.listed
    union all
    -- not-null constraints (PostgreSQL 18 stores them) are a column's property: they go with it
    select 'constraint', c.nspname, k.conname, c.relname, null, k.oid, k.xmin
      from pg_constraint k join rels c on c.oid = k.conrelid
     where k.contype <> 'n' and c.relkind in ('r', 'p') and c.listed
    union all
    select 'role', null, r.rolname, null, null, r.oid, ${rolesReadable ? "r.xmin from pg_authid r" : "null::xid from pg_roles r"}
     where r.rolname not like 'pg\\_%'
    union all
    -- the snapshot the read was made in, once (catalogFrom takes it out)
    select '${MARK}', null, '', null, null, null, null
)
select o.kind, o.schema, o.name, o.parent, o.arguments, o.oid::bigint as oid,
       o.kind || ' ' || concat_ws('.', quote_ident(o.schema), case when o.kind in ('trigger', 'policy', 'column', 'constraint') then quote_ident(o.parent) end,
                                    quote_ident(o.name))
           || coalesce('(' || o.arguments || ')', '') as identity,
       ${rolesReadable ? CREATED("o.xmin") : `case when o.xmin is null then null else ${CREATED("o.xmin")} end`} as created,
       case when o.kind = '${MARK}' then pg_current_snapshot()::text end as mark
  from objects o`;
};

// The kind of the one row that carries the read's snapshot rather than an object.
const MARK = "snapshot";

type SnapshotRow = Omit<CatalogObject, "oid"> & { oid: string | null; mark: string | null };

/** The catalog as identities, and the snapshot it was read in (pg_snapshot text: "xmin:xmax:xip,…"), for committedSinceStatement. */
export class Catalog extends Map<string, CatalogObject> {
    constructor(readonly mark: string | undefined) {
        super();
    }

    /** The same objects, as of the snapshot `mark` (no other transaction committed between the two). */
    asOf(mark: string): Catalog {
        const objects = new Catalog(mark);
        this.forEach((object, identity) => objects.set(identity, object));
        return objects;
    }
}

// The engine's own statements run with search_path pg_catalog alone: the catalog's names are of type name,
// and with public on the path a public.quote_ident(name), say, that a role able to create there planted would
// beat pg_catalog's quote_ident(text) and run with the migrating role's rights. Only a migration's own
// statements run with the engine's search_path (search-path.ts), set just before them.
export const CATALOG_PATH = "pg_catalog, pg_temp";
export const CATALOG_SEARCH_PATH = `set local search_path = ${CATALOG_PATH}`;
/** SQL expression: the session's search_path (not the transaction's alone) set to CATALOG_PATH, for the rest of the run. */
export const SET_SESSION_CATALOG_PATH = `pg_catalog.set_config('search_path', '${CATALOG_PATH}', false)`;

/**
 * `reads` with CATALOG_SEARCH_PATH, as statements of one query, and the search_path as it was before them
 * afterwards (`restore`; without it the transaction keeps pg_catalog's, as a migration's does once its statements ran).
 */
export function catalogReads(reads: string[], restore = true): string {
    return [
        ...(restore ? ["select pg_catalog.set_config('memory_stack.search_path', pg_catalog.current_setting('search_path'), true)"] : []),
        CATALOG_SEARCH_PATH,
        ...reads,
        ...(restore ? ["select pg_catalog.set_config('search_path', pg_catalog.current_setting('memory_stack.search_path'), true)"] : []),
    ].join(";\n");
}

const prepared = new WeakSet<SqlClient>();

/**
 * Every object of the database (and every role) as identities, in one round trip; `created` is only meaningful inside a transaction.
 * The first one on a connection prepares it, and the engine's other statements of every migration (preparedStatements).
 * `first`: statements to send before the read, in its round trip.
 */
export async function snapshot(client: SqlClient, first: string[] = []): Promise<Catalog> {
    if (prepared.has(client)) {
        return catalogIn(await client.query([...first, snapshotStatement(client)!].join(";\n")));
    }
    // Prepared in the read's own round trip. A rollback does not undo a PREPARE: after a query that failed once its PREPAREs
    // ran, the session's statements take new names, so preparing them again never meets "already exists".
    const prepare = catalogReads([
        `prepare ${preparedName(client, "snapshot")} as ${await snapshotSql(client)}`,
        ...Object.entries(preparedStatements()).map(([purpose, sql]) => `prepare ${preparedName(client, purpose)} as ${sql}`),
    ]);
    try {
        const results = await client.query([prepare, ...first, catalogReads([`execute ${preparedName(client, "snapshot")}`])].join(";\n"));
        prepared.add(client);
        return catalogIn(results);
    } catch (error) {
        renamePrepared(client);
        throw error;
    }
}

/**
 * The snapshot (and `alsoRead`, in the same search_path) as statements to send after others in one query, for a
 * client that already took one; undefined before that. catalogIn finds its rows among the query's results.
 * `restore`: as catalogReads'.
 */
export function snapshotStatement(client: SqlClient, alsoRead: string[] = [], restore = true): string | undefined {
    return prepared.has(client) ? catalogReads([`execute ${preparedName(client, "snapshot")}`, ...alsoRead], restore) : undefined;
}

/**
 * Statements to send right after a migration's own, in their query: the catalog read after them and whether another
 * transaction committed since `before` (other than the session's own, `ours`: committedSinceStatement's). The transaction
 * keeps pg_catalog's search_path: what follows is bookkeeping.
 * A role the file set (set role, set session authorization) was for its own statements: the engine reads and writes
 * as itself again, and the next file starts so.
 */
export function readAfterStatement(client: SqlClient, before: Catalog, ours: string[] = []): string {
    const check = before.mark === undefined ? [] : [committedSinceStatement(before.mark, ours, false, client)];
    return `reset session authorization;\nreset role;\n${snapshotStatement(client, [...check, CLIENT_ENCODING], false)!}`;
}

// The session's client_encoding as the file left it: the catalog read came back in it (refuseClientEncoding).
const CLIENT_ENCODING = "select pg_catalog.current_setting('client_encoding') as client_encoding";

/**
 * Refuses (throws) a file that left client_encoding other than UTF8, from readAfterStatement's results: the catalog read came back
 * in that encoding, names garbled, and is never used. False when there are no results (the file ran again statement by statement):
 * its commit asks the server then (UTF8_SESSION).
 */
export function refuseClientEncoding(results: QueryResult[] | undefined, file: string, outcome: string): boolean {
    const encoding =
        results && (resultWith(results, "client_encoding")?.rows[0] as { client_encoding?: string } | undefined)?.client_encoding;
    if (encoding !== undefined && encoding !== "UTF8") {
        throw new Error(
            `${file} set client_encoding to ${encoding}: memory-stack reads the catalog and writes its records in UTF8; remove that setting from the file. ${outcome}`,
        );
    }
    return encoding !== undefined;
}

/** What readAfterStatement's results say, as recordCreated takes it; nothing when the statements had to run again (no results). */
export function readAfter(results: QueryResult[] | undefined): { after?: Catalog; noOtherCommit?: boolean } {
    return results === undefined ? {} : { after: catalogIn(results), noOtherCommit: noOtherCommit(results) };
}

/** The catalog among a query's results: the last one with the snapshot's columns. */
export function catalogIn(results: QueryResult | QueryResult[]): Catalog {
    const result = resultWith(results, "mark");
    if (result === undefined) {
        throw new Error("the catalog read returned no result");
    }
    return catalogFrom(result.rows);
}

/** The last of a query's results that has column `field`. */
export function resultWith(results: QueryResult | QueryResult[], field: string): QueryResult | undefined {
    return [...(Array.isArray(results) ? results : [results])].reverse().find((result) => result.fields?.some((f) => f.name === field));
}

function catalogFrom(rows: Record<string, unknown>[]): Catalog {
    const objects = new Catalog((rows as SnapshotRow[]).find((row) => (row.kind as string) === MARK)?.mark ?? undefined);
    for (const { identity, kind, schema, name, parent, arguments: args, oid, created } of rows as SnapshotRow[]) {
        if ((kind as string) !== MARK) {
            objects.set(identity, {
                identity,
                kind,
                schema,
                name,
                parent,
                arguments: args,
                oid: oid === null ? null : Number(oid),
                created,
            });
        }
    }
    return objects;
}

// More xids than this assigned since the catalog before (a long migration under heavy write load):
// not checked one by one, taken as "another transaction may have committed".
const MOST_XIDS_CHECKED = 10_000;

/**
 * A statement saying whether a transaction other than the current one committed since the snapshot
 * `mark` was taken (one row, `committed`: true, false, or null for "too many to check"). Only one
 * that was in progress then (its xip) or was given an xid after it can have; of those, the current
 * transaction's own xids (subtransactions included) are still "in progress" to pg_xact_status, and
 * another session's uncommitted ones are invisible anyway. `ours`: xids of a transaction of this
 * session that committed since (OWN_XIDS, read just before its commit), not counted; `withMark`:
 * with the snapshot the check was made in (`checked_at`). Sent after a catalog read, it covers
 * everything that read can see.
 */
export function committedSinceStatement(mark: string, ours: string[] = [], withMark = false, client?: SqlClient): string {
    const [markLiteral, oursLiteral] = checkArguments(mark, ours);
    if (client !== undefined && prepared.has(client)) {
        return `execute ${preparedName(client, "committed_since")}(${markLiteral}, ${oursLiteral})`;
    }
    return `select ${committedSince(`${markLiteral}::pg_snapshot`, `${oursLiteral}::text[]`)} as committed${withMark ? ", pg_current_snapshot()::text as checked_at" : ""}`;
}

/** `mark` and `ours` as SQL literals, once checked to be a pg_snapshot and xids. */
function checkArguments(mark: string, ours: string[]): [string, string] {
    if (!/^\d+:\d+:[\d,]*$/.test(mark)) {
        throw new Error(`not a pg_snapshot: ${JSON.stringify(mark)}`);
    }
    if (!ours.every((xid) => /^\d+$/.test(xid))) {
        throw new Error(`not xids: ${JSON.stringify(ours)}`);
    }
    return [`'${mark}'`, `'{${ours.join(",")}}'`];
}

/** SQL: committedSinceStatement's answer, for the snapshot `mark` and the xids `ours` (SQL expressions of types pg_snapshot and text[]). */
function committedSince(mark: string, ours: string): string {
    const since = `pg_catalog.pg_snapshot_xmax(${mark})::text::bigint`;
    const now = `pg_catalog.pg_snapshot_xmax(pg_catalog.pg_current_snapshot())::text::bigint`;
    return `case when ${now} - ${since} > ${MOST_XIDS_CHECKED} then null
                else exists (select from (select pg_catalog.pg_snapshot_xip(${mark}) as x
                                          union all
                                          select n::text::xid8 from pg_catalog.generate_series(${since}, ${now} - 1) n) t
                              where pg_catalog.pg_xact_status(t.x) = 'committed' and pg_catalog.xid(t.x)::text <> all(${ours})) end`;
}

/**
 * `catalog` (read by an earlier transaction of this session, whose xids committedSinceStatement's `ours` named) as of the check
 * among `results`, sent with `withMark`: undefined when another transaction may have committed since it was read.
 */
export function carriedIn(results: QueryResult[], catalog: Catalog): Catalog | undefined {
    const check = resultWith(results, "checked_at")?.rows[0] as { committed: boolean | null; checked_at: string } | undefined;
    return check?.committed === false ? catalog.asOf(check.checked_at) : undefined;
}

/** carriedIn for a check sent first, before statements (a file's) whose results may have the same columns. */
export function checkedFirstIn(results: QueryResult[], catalog: Catalog): Catalog | undefined {
    const at = results.findIndex((result) => result.fields?.some((field) => field.name === "checked_at"));
    return at < 0 ? undefined : carriedIn(results.slice(0, at + 1), catalog);
}

/**
 * SQL: the current transaction's xids as `ours` (text[]), sent last before its commit, for the check the run's next migration
 * makes (committedSinceStatement's `ours`): its own xid and those of its subtransactions still open (the file's savepoint), each
 * locked until the transaction ends. A subtransaction that ended (a plpgsql exception block) gave up its lock: the check takes
 * its xid for another session's, and the next migration reads the catalog anew.
 */
export const OWN_XIDS = `select coalesce(pg_catalog.array_agg(l.transactionid::text), '{}') as ours from pg_catalog.pg_locks l
 where l.locktype = 'transactionid' and l.pid = pg_catalog.pg_backend_pid() and l.mode = 'ExclusiveLock' and l.granted`;

/** OWN_XIDS' result among a query's results. */
export function ownXidsIn(results: QueryResult | QueryResult[]): string[] | undefined {
    return (resultWith(results, "ours")?.rows[0] as { ours?: string[] } | undefined)?.ours;
}

/** From committedSinceStatement's result among a query's results: true only when no other transaction can have committed. */
export function noOtherCommit(results: QueryResult | QueryResult[]): boolean {
    return (resultWith(results, "committed")?.rows[0] as { committed?: boolean | null } | undefined)?.committed === false;
}

// Roles belong to the whole server. Their catalog (pg_authid) shows xmin to superusers only; others
// see pg_roles and cannot tell a role this transaction created from one another session created
// meanwhile (created: null), which recordCreated then asks a second session about. Which one this
// session may read is asked once, with whether the catalog has objects below FIRST_NORMAL_OID.
async function snapshotSql(client: SqlClient): Promise<string> {
    const shape = shapes.get(client) ?? shapeIn(await client.query(SHAPE_READ))!;
    return SNAPSHOT(!shape.low_oids, shape.readable);
}

/** SQL: the catalog's shape, as the read is prepared for; sent ahead in a query of the caller's (noteShape), it saves a round trip. */
export const SHAPE_READ = catalogReads([
    `select has_table_privilege('pg_catalog.pg_authid', 'select') as readable, ${LOW_OIDS} as low_oids`,
]);

interface Shape {
    readable: boolean;
    low_oids: boolean;
}

const shapes = new WeakMap<SqlClient, Shape>();

function shapeIn(results: QueryResult | QueryResult[]): Shape | undefined {
    return resultWith(results, "low_oids")?.rows[0] as Shape | undefined;
}

/** Keeps SHAPE_READ's answer among `results` for the session's first catalog read. */
export function noteShape(client: SqlClient, results: QueryResult[]): void {
    const shape = shapeIn(results);
    if (shape !== undefined) {
        shapes.set(client, shape);
    }
}

// Statements every migration runs, two or three times over, prepared once per connection with the catalog read (snapshot()):
// planning them costs more than running them; a rollback does not undo a PREPARE. Preparing does not pin names: PostgreSQL
// analyses a prepared statement again under the search_path in force when it runs, if that differs from the one it was
// prepared under. So each runs where pg_catalog's path is set, as the unprepared text would: in catalogReads, after
// readAfterStatement, or in the commit that follows either; the search_path's, which names nothing unqualified, in the begin.
function preparedStatements(): Record<string, string> {
    const committedSinceMark = `select ${committedSince("$1::pg_catalog.pg_snapshot", "$2::pg_catalog.text[]")} as committed, pg_catalog.pg_current_snapshot()::text as checked_at`;
    return {
        committed_since: committedSinceMark,
        carried_check: `with c as materialized (${committedSinceMark})
            select c.committed, c.checked_at,
                   case when c.committed is distinct from false then pg_catalog.set_config('statement_timeout', '${CATALOG_MOVED}', true) end as refused
              from c`,
        ...UNPARAMETERIZED,
    };
}

// The prepared statements without parameters, which are sent as text before the session has them (statementOf).
const UNPARAMETERIZED = {
    // Last before every commit (OWN_XIDS).
    own_xids: OWN_XIDS,
    // In every migration's begin.
    search_path: SET_LOCAL_SEARCH_PATH,
    // With every commit (lock-held.ts).
    lock_held: LOCK_STILL_HELD,
};

/** The engine's statement `purpose`, as prepared on `client` once there is one, as its text before. */
export function statementOf(client: SqlClient, purpose: keyof typeof UNPARAMETERIZED): string {
    return prepared.has(client) ? `execute ${preparedName(client, purpose)}` : UNPARAMETERIZED[purpose];
}

// What carriedCheckStatement's check sets statement_timeout to, so the server refuses it (SQLSTATE 22023) and the rest of the query is not run.
const CATALOG_MOVED = "memory-stack: another transaction committed since the catalog read";

/**
 * committedSinceStatement's check with its mark, for a query that sends statements after it (a file's) which must not run on
 * `catalog` when another transaction committed since it was read: the check then fails (isCatalogMoved), the rest of the query
 * with it. checkedFirstIn reads its answer.
 */
export function carriedCheckStatement(client: SqlClient, catalog: Catalog, ours: string[] = []): string {
    if (!prepared.has(client) || catalog.mark === undefined) {
        throw new Error("carriedCheckStatement: the catalog was not read on this session");
    }
    return catalogReads([`execute ${preparedName(client, "carried_check")}(${checkArguments(catalog.mark, ours).join(", ")})`]);
}

/** Whether `error` is carriedCheckStatement's refusal. */
export function isCatalogMoved(error: unknown): boolean {
    return (error as { code?: string })?.code === "22023" && String((error as Error)?.message).includes(CATALOG_MOVED);
}
