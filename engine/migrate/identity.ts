// Ownership by the object itself, not only its name. Each record in memory_stack.created_objects
// carries the oid the object had when the stack created it, and where that oid means something: the
// cluster's system identifier and the database's oid (its origin). An object dropped by someone and
// created again under the same name has a new oid: it is not the stack's any more, even though its
// identity is recorded. Rollback leaves it alone, repair refuses to re-run the migration that made it,
// and the preflight counts it as the application's. A record without an oid (release 1 and 2 ledgers
// adopted where the oid could not be read, a concurrent index recorded before it is built), or from
// another origin (a pg_dump restored elsewhere, a pg_upgrade), or restored into the database it came
// from (RENUMBERED), is ownership by identity, as before. A copy made with the database as its template
// keeps every oid: there the records' origin counts as well as this database's own (COPIED_FROM).
import type { SqlClient } from "../db/client";
import { textArray } from "../db/literal";
import type { RecordedObject } from "./ownership";
import type { CatalogObject } from "./snapshot";

/**
 * SQL: "<system identifier>/<database oid>", or null when pg_control_system() may not be called.
 * sql/rollback.sql computes the same value; keep the two alike.
 */
const ORIGIN = `case when has_function_privilege('pg_catalog.pg_control_system()', 'execute')
        then (select system_identifier::text from pg_catalog.pg_control_system()) || '/'
             || (select oid::text from pg_catalog.pg_database where datname = current_database()) end`;

export const ORIGIN_SQL = `select ${ORIGIN} as origin, pg_catalog.to_regclass('memory_stack.created_objects') is not null as ledger`;

/**
 * SQL, a condition on an origin (`here`; memory_stack.created_objects must exist): the stack's own bookkeeping table,
 * memory_stack.owned_objects (0001), is recorded under that origin with another oid than it has now. No application
 * makes that table again; a dump restored into the database it came from (`pg_restore --clean`) does, and renumbers
 * every object while the system identifier and the database oid stay: no recorded oid of that origin means anything
 * then, and ownership goes by identity, as after a restore elsewhere. sql/rollback.sql checks the same.
 */
const RENUMBERED = (here: string) => `exists (
    select from memory_stack.created_objects s
     where s.identity = 'table memory_stack.owned_objects' and pg_catalog.to_jsonb(s) ->> 'origin' = ${here}
       and pg_catalog.to_regclass('memory_stack.owned_objects') is not null
       and (pg_catalog.to_jsonb(s) ->> 'oid')::bigint <> pg_catalog.to_regclass('memory_stack.owned_objects')::oid::bigint)`;

/**
 * SQL, an origin or null (`here` as RENUMBERED takes it): the origin memory_stack.owned_objects is recorded under when this
 * database is a file-level copy of the one that recorded it (`createdb -T`, `create database … template`): the same system
 * identifier, another database oid, and the table still at its recorded oid. Such a copy keeps every oid, so the records'
 * oids mean here what they meant there; a dump restored elsewhere in the cluster renumbers every object (oids come from one
 * counter for the whole cluster). sql/rollback.sql checks the same.
 */
const COPIED_FROM = (here: string) => `(select pg_catalog.to_jsonb(s) ->> 'origin' from memory_stack.created_objects s
     where s.identity = 'table memory_stack.owned_objects' and pg_catalog.to_jsonb(s) ->> 'origin' <> ${here}
       and pg_catalog.split_part(pg_catalog.to_jsonb(s) ->> 'origin', '/', 1) = pg_catalog.split_part(${here}, '/', 1)
       and (pg_catalog.to_jsonb(s) ->> 'oid')::bigint = pg_catalog.to_regclass('memory_stack.owned_objects')::oid::bigint
     limit 1)`;

/** SQL: ORIGIN's value `here`, or null where a restore into this very database renumbered every object. */
const OWN = (here: string) => `case when not ${RENUMBERED(here)} then ${here} end`;

/** SQL: the origin new records are written under, from ORIGIN's value `here` (null: none, as after an in-place restore). */
const WRITTEN = (here: string) => `coalesce(${COPIED_FROM(here)}, ${OWN(here)})`;

/**
 * SQL, text[]: the origins whose records' oids are compared here. In a copy, both the template's and this database's own: what
 * an earlier release recorded in the copy (it knew no copies) carries the copy's origin.
 */
const COMPARED = (here: string) => `pg_catalog.array_remove(array[${COPIED_FROM(here)}, ${OWN(here)}], null)`;

// How the object of each kind is found by its recorded name: sql/rollback.sql's lookup; keep the two alike. The relations'
// kinds (table, view, index, sequence, ...) by to_regclass, as the last branch.
const FOUND_BY_NAME: Record<string, string> = {
    role: "(select r.oid from pg_roles r where r.rolname = c.name)",
    schema: "(select n.oid from pg_namespace n where n.nspname = c.name)",
    extension: "(select e.oid from pg_extension e where e.extname = c.name)",
    function: "to_regprocedure(format('%I.%I(%s)', c.schema_name, c.name, c.arguments))::oid",
    type: "to_regtype(format('%I.%I', c.schema_name, c.name))::oid",
    domain: "to_regtype(format('%I.%I', c.schema_name, c.name))::oid",
    trigger:
        "(select g.oid from pg_trigger g where g.tgrelid = to_regclass(format('%I.%I', c.schema_name, c.parent)) and g.tgname = c.name)",
    policy: "(select y.oid from pg_policy y where y.polrelid = to_regclass(format('%I.%I', c.schema_name, c.parent)) and y.polname = c.name)",
    constraint:
        "(select k.oid from pg_constraint k where k.conrelid = to_regclass(format('%I.%I', c.schema_name, c.parent)) and k.conname = c.name)",
    column: "null",
};
// A kind this release does not know (a newer one recorded it) is not compared.
const RELATION_BY_NAME = `case when c.kind in ('table', 'view', 'materialized view', 'index', 'sequence', 'foreign table')
                      then to_regclass(format('%I.%I', c.schema_name, c.name))::oid end`;

/**
 * SQL, one round trip: the recorded objects (memory_stack.created_objects, which must exist) whose identity holds another
 * object than the one recorded here, in creation order; of the kinds in `kinds` only, when given (a query that plans in a
 * fraction of the time: the grants ask for the kinds they grant on).
 */
export function reusedSql(kinds?: readonly string[]): string {
    const branches = Object.entries(FOUND_BY_NAME).filter(([kind]) => kinds === undefined || kinds.includes(kind));
    return `
select c.identity, c.kind, c.schema_name as schema, c.name
  from memory_stack.created_objects c
       cross join (select ${ORIGIN} as origin) o
       cross join lateral (select ${COMPARED("o.origin")} as compared) h
       -- the row as jsonb, built once: a table not yet upgraded has no oid or origin (null)
       cross join lateral pg_catalog.to_jsonb(c) as recorded
 where ${kinds === undefined ? "" : `c.kind = any(${textArray(kinds)}) and `}recorded ->> 'origin' = any(h.compared) and recorded ->> 'oid' is not null
   and (case c.kind
            ${branches.map(([kind, sql]) => `when '${kind}' then ${sql}`).join("\n            ")}
            else ${RELATION_BY_NAME}
        end)::bigint <> (recorded ->> 'oid')::bigint
 order by c.position`;
}

export const REUSED_SQL = reusedSql();

/** Kinds an application's object of which the stack uses as it is, by design: a reused one of these is the application's, used, never refused. */
export const SHARED_KINDS: ReadonlySet<string> = new Set(["role", "schema", "extension"]);

/** Where this session's oids mean something: the origin new records get, and every origin whose records' oids are compared. */
export interface Origins {
    /** null: nowhere, as after an in-place restore; in a copy made from a template, the template's, as the records say. */
    written: string | null;
    compared: readonly string[];
}

const origins = new WeakMap<SqlClient, Promise<Origins>>();

/** Where this session's oids mean something; read once per connection. */
function readOrigins(client: SqlClient): Promise<Origins> {
    let read = origins.get(client);
    if (read === undefined) {
        read = client.query<{ origin: string | null; ledger: boolean }>(ORIGIN_SQL).then(async ({ rows: [{ origin, ledger }] }) => {
            if (origin === null || !ledger) {
                return { written: origin, compared: origin === null ? [] : [origin] };
            }
            const answer = await client.query<Origins>(`select ${WRITTEN("$1::text")} as written, ${COMPARED("$1::text")} as compared`, [
                origin,
            ]);
            return answer.rows[0];
        });
        origins.set(client, read);
        read.catch(() => origins.delete(client));
    }
    return read;
}

/** The origin new records are written under (null: none, as after an in-place restore). */
export async function currentOrigin(client: SqlClient): Promise<string | null> {
    return (await readOrigins(client)).written;
}

/** The origins whose records' oids are compared with the catalog's here. */
export async function comparedOrigins(client: SqlClient): Promise<readonly string[]> {
    return (await readOrigins(client)).compared;
}

/** SQL: readOrigins' answer in one statement, for a query sent once memory_stack.created_objects exists (a first migration's begin creates it). */
export const ORIGIN_WITH_LEDGER_SQL = `select ${WRITTEN("o.origin")} as written, ${COMPARED("o.origin")} as compared from (select ${ORIGIN} as origin) o`;

/** Keeps ORIGIN_WITH_LEDGER_SQL's answer, read in a query of the caller's, for currentOrigin and comparedOrigins. */
export function noteOrigin(client: SqlClient, answer: Origins): void {
    origins.set(client, Promise.resolve(answer));
}

/** Whether the record's oid can be compared with the catalog's here (`compared`: comparedOrigins). */
function comparable(record: Pick<RecordedObject, "oid" | "origin">, compared: readonly string[]): boolean {
    return record.oid !== null && record.origin !== null && compared.includes(record.origin);
}

/** Whether the object under the record's identity (its oid now; null: none, or no oid) is another than the one recorded. */
export function isReused(record: Pick<RecordedObject, "oid" | "origin">, oid: number | null, compared: readonly string[]): boolean {
    return oid !== null && comparable(record, compared) && oid !== record.oid;
}

/** Recorded objects that exist under their recorded identity but as another object: someone else created them again. */
export function reusedRecords(
    records: RecordedObject[],
    present: Map<string, CatalogObject>,
    compared: readonly string[],
): RecordedObject[] {
    return records.filter((record) => isReused(record, present.get(record.identity)?.oid ?? null, compared));
}

/** Objects in both catalogs under one identity with different oids: dropped and created again between the two reads. */
export function replacedObjects(before: Map<string, CatalogObject>, after: Map<string, CatalogObject>): CatalogObject[] {
    return [...before.values()].filter((object) => {
        const now = after.get(object.identity);
        return now !== undefined && object.oid !== null && now.oid !== null && now.oid !== object.oid;
    });
}

/**
 * The records whose oid is to be renewed: recorded objects this transaction created anew (`created`:
 * what it created, as recordCreated tells) or dropped and created again while they were the stack's.
 */
export function renewedRecords(
    records: RecordedObject[],
    before: Map<string, CatalogObject>,
    after: Map<string, CatalogObject>,
    created: Set<string>,
    compared: readonly string[],
): { identity: string; oid: number }[] {
    const reused = new Set(reusedRecords(records, before, compared).map((record) => record.identity));
    return records.flatMap((record) => {
        const now = after.get(record.identity);
        if (now === undefined || now.oid === null || (comparable(record, compared) && record.oid === now.oid)) {
            return [];
        }
        const previous = before.get(record.identity);
        const anew =
            created.has(record.identity) ||
            (previous !== undefined && previous.oid !== now.oid && now.created === true && !reused.has(record.identity));
        return anew ? [{ identity: record.identity, oid: now.oid }] : [];
    });
}

export const REUSED_REASON = "created again by someone else after the stack's was dropped";

/** A migration that dropped, replaced or changed an object under a recorded name that someone else created again. */
export class ReusedObjectChangedError extends Error {
    constructor(
        readonly migration: string,
        readonly objects: string[],
        outcome: string,
    ) {
        const one = objects.length === 1;
        super(
            `${migration} changed ${objects.join(", ")}, which ${one ? "is" : "are"} not the stack's: ${one ? "it was" : "they were"} ${REUSED_REASON}. ` +
                `The stack never changes what it did not create. ${outcome} ` +
                `Rename or drop the application's ${one ? "object" : "objects"}, then run again.`,
        );
        this.name = "ReusedObjectChangedError";
    }
}
