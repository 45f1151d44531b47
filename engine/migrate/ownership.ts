// Ownership of every object, recorded by the engine rather than by each migration: in a migration's
// own transaction the catalog is read before and after its statements, and every object that is new
// and was created by this very transaction (its catalog row's xmin is one of ours, so an object
// another session created meanwhile is never taken for ours) goes to memory_stack.created_objects
// with the migration's name, in creation order. Rollback drops these and nothing else; repair
// re-runs the migration that created a missing one. A migration that removes an object the stack
// did not create is refused, so no migration can drop what is not the stack's either.
//
// Identities name objects the same way in every session: "table public.sessions",
// "function public.close_session(uuid,text)" (argument types, schema-qualified outside pg_catalog),
// "column public.users.memory_enabled", "trigger public.sessions.update_sessions_updated_at".
import type { SqlClient } from "../db/client";
import { LEDGER_SCHEMA, LEDGER_TABLE, OWNERSHIP_TABLE } from "./ledger";

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

export interface RecordedObject extends Omit<CatalogObject, "oid" | "created"> {
    position: number;
    migration: string;
    /** Recorded by the adoption rule for releases 1 and 2 (legacy.ts), not seen being created. */
    adopted: boolean;
}

/** Kinds that live inside a table and go with it when the table is dropped. */
export const TABLE_PARTS: readonly ObjectKind[] = ["index", "trigger", "policy", "column", "constraint", "sequence"];

const USER_SCHEMA = `n.nspname not in ('pg_catalog', 'information_schema', 'pg_toast') and n.nspname not like 'pg\\_temp\\_%' and n.nspname not like 'pg\\_toast\\_temp\\_%'`;
const NOT_IN_EXTENSION = (catalog: string, column: string) =>
    `not exists (select from pg_depend d where d.classid = '${catalog}'::regclass and d.objid = ${column} and d.deptype = 'e')`;
// The engine's own bookkeeping (the ledger and this table) is neither recorded nor dropped by rollback.sql's loop.
const BOOKKEEPING = "b.oids";

/** SQL: the argument types of function `p`, as its identity names them ("uuid,text", "public.vector,int4,uuid"). */
export const FUNCTION_ARGUMENTS = `coalesce((select string_agg(case when tn.nspname = 'pg_catalog' then quote_ident(t.typname)
                                          else quote_ident(tn.nspname) || '.' || quote_ident(t.typname) end, ',' order by a.n)
                     from unnest(p.proargtypes::oid[]) with ordinality a(type, n)
                     join pg_type t on t.oid = a.type join pg_namespace tn on tn.oid = t.typnamespace), '')`;

// Whether the catalog row with this xmin was written by the current transaction or one of its
// subtransactions: age() counts from our own xid, so our xids (and those of transactions that began
// after ours) are not older than it; of those, the ones still in progress are ours, as another
// session's uncommitted rows are invisible to us.
const CREATED = (xmin: string) => `case when pg_current_xact_id_if_assigned() is not null and age(${xmin}) <= 0
        then pg_xact_status((pg_current_xact_id_if_assigned()::text::bigint - age(${xmin}))::text::xid8) = 'in progress'
        else false end`;

// One round trip.
const SNAPSHOT = `
with bookkeeping as materialized (
    select coalesce(array_agg(oid), '{}') as oids from pg_class
     where oid in (to_regclass('${LEDGER_TABLE}'), to_regclass('${OWNERSHIP_TABLE}'))
), objects as (
    select 'schema' as kind, null::name as schema, n.nspname as name, null::name as parent, null::text as arguments,
           n.oid, n.xmin
      from pg_namespace n where ${USER_SCHEMA} and n.nspname <> '${LEDGER_SCHEMA}'
    union all
    select 'extension', null, e.extname, null, null, e.oid, e.xmin from pg_extension e where e.extname <> 'plpgsql'
    union all
    select case c.relkind when 'r' then 'table' when 'p' then 'table' when 'v' then 'view' when 'm' then 'materialized view'
                          when 'i' then 'index' when 'I' then 'index' when 'S' then 'sequence' when 'f' then 'foreign table' else 'type' end,
           n.nspname, c.relname,
           coalesce((select t.relname from pg_index x join pg_class t on t.oid = x.indrelid where x.indexrelid = c.oid),
                    (select t.relname from pg_depend d join pg_class t on t.oid = d.refobjid
                      where d.classid = 'pg_class'::regclass and d.objid = c.oid and d.refclassid = 'pg_class'::regclass
                        and d.deptype in ('a', 'i') and c.relkind = 'S')),
           null, c.oid, c.xmin
      from pg_class c join pg_namespace n on n.oid = c.relnamespace cross join bookkeeping b
     where c.relkind in ('r', 'p', 'v', 'm', 'i', 'I', 'S', 'f', 'c') and ${USER_SCHEMA} and ${NOT_IN_EXTENSION("pg_class", "c.oid")}
       and c.oid <> all(${BOOKKEEPING})
       and not exists (select from pg_index x where x.indexrelid = c.oid and x.indrelid = any(${BOOKKEEPING}))
    union all
    select 'function', n.nspname, p.proname, null, ${FUNCTION_ARGUMENTS}, p.oid, p.xmin
      from pg_proc p join pg_namespace n on n.oid = p.pronamespace
     where ${USER_SCHEMA} and ${NOT_IN_EXTENSION("pg_proc", "p.oid")}
    union all
    select case t.typtype when 'd' then 'domain' else 'type' end, n.nspname, t.typname, null, null, t.oid, t.xmin
      from pg_type t join pg_namespace n on n.oid = t.typnamespace
     where t.typtype in ('e', 'r', 'd') and ${USER_SCHEMA} and ${NOT_IN_EXTENSION("pg_type", "t.oid")}
    union all
    select 'trigger', n.nspname, g.tgname, c.relname, null, g.oid, g.xmin
      from pg_trigger g join pg_class c on c.oid = g.tgrelid join pg_namespace n on n.oid = c.relnamespace
     where not g.tgisinternal and ${USER_SCHEMA}
    union all
    select 'policy', n.nspname, o.polname, c.relname, null, o.oid, o.xmin
      from pg_policy o join pg_class c on c.oid = o.polrelid join pg_namespace n on n.oid = c.relnamespace
     where ${USER_SCHEMA}
    union all
    select 'column', n.nspname, a.attname, c.relname, null, null, a.xmin
      from pg_attribute a join pg_class c on c.oid = a.attrelid join pg_namespace n on n.oid = c.relnamespace cross join bookkeeping b
     where a.attnum > 0 and not a.attisdropped and c.relkind in ('r', 'p') and ${USER_SCHEMA}
       and ${NOT_IN_EXTENSION("pg_class", "c.oid")} and c.oid <> all(${BOOKKEEPING})
    union all
    -- not-null constraints (PostgreSQL 18 stores them) are a column's property: they go with it
    select 'constraint', n.nspname, k.conname, c.relname, null, k.oid, k.xmin
      from pg_constraint k join pg_class c on c.oid = k.conrelid join pg_namespace n on n.oid = c.relnamespace cross join bookkeeping b
     where k.contype <> 'n' and c.relkind in ('r', 'p') and ${USER_SCHEMA}
       and ${NOT_IN_EXTENSION("pg_class", "c.oid")} and c.oid <> all(${BOOKKEEPING})
)
select o.kind, o.schema, o.name, o.parent, o.arguments, o.oid::bigint as oid,
       o.kind || ' ' || concat_ws('.', quote_ident(o.schema), case when o.kind in ('trigger', 'policy', 'column', 'constraint') then quote_ident(o.parent) end,
                                    quote_ident(o.name))
           || coalesce('(' || o.arguments || ')', '') as identity,
       ${CREATED("o.xmin")} as created
  from objects o`;

/** Every object of the database (and every role) as identities; `created` is only meaningful inside a transaction. */
export async function snapshot(client: SqlClient): Promise<Map<string, CatalogObject>> {
    const result = await client.query<Omit<CatalogObject, "oid"> & { oid: string | null }>(SNAPSHOT);
    const objects = new Map<string, CatalogObject>();
    for (const row of result.rows) {
        objects.set(row.identity, { ...row, oid: row.oid === null ? null : Number(row.oid) });
    }
    for (const role of await roles(client)) {
        objects.set(role.identity, role);
    }
    return objects;
}

// Roles belong to the whole server. Their catalog (pg_authid) shows xmin to superusers only; others
// see pg_roles and cannot tell a role this transaction created from one another session created
// meanwhile (created: null), which recordCreated then asks a second session about.
async function roles(client: SqlClient): Promise<CatalogObject[]> {
    const readable = await client.query<{ readable: boolean }>("select has_table_privilege('pg_catalog.pg_authid', 'select') as readable");
    const source = readable.rows[0].readable ? "pg_authid" : "pg_roles";
    const created = readable.rows[0].readable ? CREATED("r.xmin") : "null::boolean";
    const result = await client.query<{ identity: string; name: string; oid: string; created: boolean | null }>(
        `select 'role ' || quote_ident(r.rolname) as identity, r.rolname as name, r.oid::bigint as oid, ${created} as created
           from ${source} r
          where r.rolname not like 'pg\\_%'`,
    );
    return result.rows.map((row) => ({
        identity: row.identity,
        kind: "role",
        schema: null,
        name: row.name,
        parent: null,
        arguments: null,
        oid: Number(row.oid),
        created: row.created,
    }));
}

export class ForeignObjectRemovedError extends Error {
    constructor(
        readonly migration: string,
        readonly removed: string[],
    ) {
        super(
            `${migration} removed ${removed.join(", ")}, which the stack did not create; a migration never drops what is not the stack's. ` +
                `${migration} was rolled back: the database is as it was before it and the ledger does not list it. ` +
                "If another session dropped it while the migration ran, run again.",
        );
        this.name = "ForeignObjectRemovedError";
    }
}

export interface RecordOptions {
    /** Opens a second session; asked which new roles it can see (those are not ours) when pg_authid is not readable. */
    connect?: () => Promise<SqlClient & { end(): Promise<void> }>;
}

/**
 * Inside `migration`'s transaction, after its statements: records what it created since `before`,
 * forgets recorded objects it removed, and refuses (throws) when it removed an object not the stack's.
 */
export async function recordCreated(
    client: SqlClient,
    migration: string,
    before: Map<string, CatalogObject>,
    options: RecordOptions = {},
): Promise<CatalogObject[]> {
    const after = await snapshot(client);
    const recorded = await readRecords(client);
    const owned = new Set(recorded.map((object) => object.identity));
    const ownedTables = new Set(recorded.filter((object) => object.kind === "table").map((object) => `${object.schema}.${object.name}`));

    const removed = [...before.values()].filter((object) => !after.has(object.identity));
    const removedTables = new Set(removed.filter((object) => object.kind === "table").map((object) => `${object.schema}.${object.name}`));
    // A part of a table (its columns, indexes, ...) is named only when the table itself is still there.
    const foreign = removed.filter(
        (object) =>
            object.kind !== "role" &&
            !owned.has(object.identity) &&
            !(object.parent !== null && ownedTables.has(`${object.schema}.${object.parent}`)) &&
            !(object.parent !== null && removedTables.has(`${object.schema}.${object.parent}`)),
    );
    if (foreign.length > 0) {
        throw new ForeignObjectRemovedError(
            migration,
            foreign.map((object) => object.identity),
        );
    }
    const forgotten = removed.filter((object) => owned.has(object.identity)).map((object) => object.identity);
    if (forgotten.length > 0) {
        await client.query(`delete from ${OWNERSHIP_TABLE} where identity = any($1)`, [forgotten]);
    }

    let fresh = [...after.values()].filter((object) => !before.has(object.identity) && object.created !== false);
    fresh = await confirmRoles(fresh, options);
    const newTables = new Set(fresh.filter((object) => object.kind === "table").map((object) => `${object.schema}.${object.name}`));
    // Columns and constraints of a table created here are part of its definition, not objects of their own.
    const created = fresh
        .filter(
            (object) => !((object.kind === "column" || object.kind === "constraint") && newTables.has(`${object.schema}.${object.parent}`)),
        )
        .sort((a, b) => (a.oid ?? Infinity) - (b.oid ?? Infinity) || a.identity.localeCompare(b.identity));
    await insertRecords(client, migration, created, false);
    return created;
}

async function confirmRoles(objects: CatalogObject[], options: RecordOptions): Promise<CatalogObject[]> {
    const unsure = objects.filter((object) => object.kind === "role" && object.created === null);
    if (unsure.length === 0) {
        return objects;
    }
    // A role this transaction created is invisible to every other session until it commits.
    let visible: Set<string>;
    try {
        if (!options.connect) {
            throw new Error("no second session");
        }
        const observer = await options.connect();
        try {
            const result = await observer.query<{ name: string }>("select rolname as name from pg_roles where rolname = any($1)", [
                unsure.map((object) => object.name),
            ]);
            visible = new Set(result.rows.map((row) => row.name));
        } finally {
            await observer.end().catch(() => undefined);
        }
    } catch {
        // Cannot tell: not recorded, so rollback keeps the role (the safe side).
        visible = new Set(unsure.map((object) => object.name));
    }
    return objects.filter((object) => !(object.kind === "role" && object.created === null && visible.has(object.name)));
}

/** Appends `objects` to the records of `migration`, after every position already taken. */
export async function insertRecords(
    client: SqlClient,
    migration: string,
    objects: Pick<CatalogObject, "identity" | "kind" | "schema" | "name" | "parent" | "arguments">[],
    adopted: boolean,
): Promise<void> {
    if (objects.length === 0) {
        return;
    }
    await client.query(
        `insert into ${OWNERSHIP_TABLE} (position, migration, kind, identity, schema_name, name, parent, arguments, adopted)
         select coalesce((select max(position) from ${OWNERSHIP_TABLE}), 0) + o.n, $1, o.kind, o.identity, o.schema, o.name, o.parent, o.arguments, $2
           from unnest($3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[]) with ordinality
                as o(kind, identity, schema, name, parent, arguments, n)
         on conflict (identity) do nothing`,
        [
            migration,
            adopted,
            objects.map((object) => object.kind),
            objects.map((object) => object.identity),
            objects.map((object) => object.schema),
            objects.map((object) => object.name),
            objects.map((object) => object.parent),
            objects.map((object) => object.arguments),
        ],
    );
}

/** The records in creation order; empty when there are none (or no ownership table). */
export async function readRecords(client: SqlClient): Promise<RecordedObject[]> {
    const exists = await client.query<{ found: boolean }>(`select to_regclass('${OWNERSHIP_TABLE}') is not null as found`);
    if (!exists.rows[0].found) {
        return [];
    }
    const result = await client.query<{
        position: number;
        migration: string;
        kind: ObjectKind;
        identity: string;
        schema: string | null;
        name: string;
        parent: string | null;
        arguments: string | null;
        adopted: boolean;
    }>(
        `select position, migration, kind, identity, schema_name as schema, name, parent, arguments, adopted
           from ${OWNERSHIP_TABLE} order by position`,
    );
    return result.rows;
}

/** Recorded objects the database no longer has, in creation order. */
export async function missingRecorded(client: SqlClient): Promise<RecordedObject[]> {
    const recorded = await readRecords(client);
    if (recorded.length === 0) {
        return [];
    }
    const present = await snapshot(client);
    return recorded.filter((object) => !present.has(object.identity));
}
