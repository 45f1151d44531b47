// Ownership of every object, recorded by the engine rather than by each migration: in a migration's
// own transaction the catalog is read before and after its statements (snapshot.ts; an apply sends
// each read in the same round trip as the begin and as the file), and every object that is new and was created by this very transaction (its catalog row's xmin is one of
// ours, so an object another session created meanwhile is never taken for ours) goes to
// memory_stack.created_objects with the migration's name, in creation order (what an application's event trigger made
// in that transaction aside, as far as not-the-stacks.ts tells it apart). Rollback drops these and
// nothing else; repair re-runs the migration that created a missing one. A migration that removes an
// object the stack did not create is refused, so no migration can drop what is not the stack's either.
// Each record holds the object's oid too, so a recorded name someone else created again is told apart
// from the stack's object (identity.ts).
import type { SqlClient } from "../db/client";
import { refuseTakeOver, type TakeOverCheck } from "./appeared";
import {
    comparedOrigins,
    currentOrigin,
    renewedRecords,
    replacedObjects,
    ReusedObjectChangedError,
    reusedRecords,
    SHARED_KINDS,
} from "./identity";
import { inlined } from "../db/literal";
import { OWNERSHIP_TABLE, type Write } from "./ledger";
import {
    Catalog,
    CATALOG_SEARCH_PATH,
    catalogReads,
    committedSinceStatement,
    noOtherCommit,
    snapshot,
    type CatalogObject,
    type ObjectKind,
} from "./snapshot";
import { compareText } from "../compare";
import { notTheStacks, type MemoryMigration } from "./not-the-stacks";

export interface RecordedObject extends Omit<CatalogObject, "created"> {
    /** Where `oid` means something (identity.ts); null with a null oid: ownership by identity only. */
    origin: string | null;
    position: number;
    migration: string;
    /** Recorded by the adoption rule for releases 1 and 2 (legacy.ts), not seen being created. */
    adopted: boolean;
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

export interface RecordOptions extends TakeOverCheck {
    /** Opens a second session; asked which new roles it can see (those are not ours) when pg_authid is not readable. */
    connect?: () => Promise<SqlClient & { end(): Promise<void> }>;
    /** What a refusal left behind, for its message. Default: the migration was rolled back whole. */
    outcome?: string;
    /** The records as they stand, when the caller keeps them (an apply, under its lock); read from the table otherwise. */
    recorded?: RecordedObject[];
    /** The catalog after the statements, when the caller read it already (runFile's `then`); read here otherwise. */
    after?: Catalog;
    /** Another write of the migration's transaction (its ledger row), sent in the same statement as the records. */
    alongside?: Write;
    /** Return the writes (RecordedChange.writes) instead of sending them, for the caller to send with its commit. */
    deferWrites?: boolean;
    /** Given for the memory schema's migrations: what their transaction created and is not the stack's is not recorded (not-the-stacks.ts). */
    memory?: MemoryMigration;
}

export interface RecordedChange {
    /** The catalog as the migration left it. */
    after: Catalog;
    /** With deferWrites: the writes to the ownership table (and `alongside`), in order, as statements with their values inline. */
    writes?: string;
    /** The records as they stand now: the ones it removed are gone, the ones it created appended. */
    recorded: RecordedObject[];
}

/**
 * Inside `migration`'s transaction, after its statements: records what it created since `before`,
 * forgets recorded objects it removed, and refuses (throws) when it removed an object not the stack's
 * or would take over one that appeared while the apply ran (appeared.ts).
 */
export async function recordCreated(
    client: SqlClient,
    migration: string,
    before: Map<string, CatalogObject>,
    options: RecordOptions = {},
): Promise<RecordedChange> {
    if (options.after === undefined) {
        // What follows is the engine's own bookkeeping: pg_catalog's names only, for the rest of the transaction
        // (snapshot.ts; a caller that read the catalog after the statements left it so already).
        await client.query(CATALOG_SEARCH_PATH);
    }
    const after = options.after ?? (await snapshot(client));
    const quiet =
        options.noOtherCommit ??
        (before instanceof Catalog && before.mark !== undefined && (await nothingCommittedSince(client, before.mark)));
    const recorded = options.recorded ?? (await readRecords(client));
    const origin = await currentOrigin(client);
    const compared = await comparedOrigins(client);
    // A recorded name that someone else created again is not the stack's: not owned, so not to be removed or replaced.
    const reused = new Set(reusedRecords(recorded, before, compared).map((object) => object.identity));
    const ours = recorded.filter((object) => !reused.has(object.identity));
    const owned = new Set(ours.map((object) => object.identity));
    const ownedTables = new Set(ours.filter((object) => object.kind === "table").map((object) => `${object.schema}.${object.name}`));

    const outcome = options.outcome ?? `${migration} was rolled back whole: nothing of it was applied.`;
    // Shared objects (roles, schemas, extensions) an application made are used as they are by design (grants on them included).
    const touched = [...before.values()].filter(
        (object) =>
            reused.has(object.identity) &&
            !SHARED_KINDS.has(object.kind) &&
            (after.get(object.identity)?.oid !== object.oid || after.get(object.identity)?.created === true),
    );
    if (touched.length > 0) {
        throw new ReusedObjectChangedError(
            migration,
            touched.map((object) => object.identity),
            outcome,
        );
    }
    const removed = [...before.values()].filter((object) => !after.has(object.identity));
    const removedTables = new Set(removed.filter((object) => object.kind === "table").map((object) => `${object.schema}.${object.name}`));
    // A part of a table (its columns, indexes, ...) is named only when the table itself is still there. Dropped
    // and created again under its name (drop … if exists; create …) is removed too.
    const foreign = [...removed, ...replacedObjects(before, after)].filter(
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

    const appeared = [...after.values()].filter((object) => !before.has(object.identity) && object.created !== false);
    // With no other transaction committed in between, a role that appeared is this transaction's.
    const fresh = quiet ? appeared : await confirmRoles(appeared, options);
    const newTables = new Set(fresh.filter((object) => object.kind === "table").map((object) => `${object.schema}.${object.name}`));
    // Columns and constraints of a table created here are part of its definition, not objects of their own.
    const written = fresh
        .filter(
            (object) => !((object.kind === "column" || object.kind === "constraint") && newTables.has(`${object.schema}.${object.parent}`)),
        )
        .sort((a, b) => (a.oid ?? Infinity) - (b.oid ?? Infinity) || compareText(a.identity, b.identity));
    // What the second session sees (and the refusal did not stop) is another session's: not recorded.
    const elsewhere = await refuseTakeOver(migration, outcome, before, after, owned, { ...options, noOtherCommit: quiet });
    const kept = recorded.filter((object) => !forgotten.includes(object.identity));
    const keptIdentities = new Set(kept.map((object) => object.identity));
    const notOurs = options.memory ? notTheStacks(migration, options.memory, written, ownedTables, after.values()) : [];
    const created = written.filter((object) => !elsewhere.has(object.identity) && !notOurs.includes(object));
    const renewed = new Map(
        renewedRecords(kept, before, after, new Set(created.map((object) => object.identity)), compared).map((r) => [r.identity, r.oid]),
    );
    const writes = [
        ...(forgotten.length > 0 ? [forgetRecords(forgotten)] : []),
        recordsInsert(migration, created, false, origin, options.alongside),
        ...(renewed.size > 0 ? [renewRecords(renewed, origin)] : []),
    ].filter((write) => write !== undefined);
    if (!options.deferWrites) {
        for (const { text, values } of writes) {
            await client.query(text, values);
        }
    }
    const last = recorded.reduce((max, object) => Math.max(max, object.position), 0);
    return {
        after,
        writes: options.deferWrites ? writes.map(({ text, values }) => inlined(text, values)).join(";\n") : undefined,
        // As the writes leave the table: an identity already recorded keeps its record, with the oid it has now when created anew.
        recorded: [
            ...kept.map((object) => (renewed.has(object.identity) ? { ...object, oid: renewed.get(object.identity)!, origin } : object)),
            ...created
                .filter((object) => !keptIdentities.has(object.identity))
                .map(({ identity, kind, schema, name, parent, arguments: args, oid }, index) => ({
                    identity,
                    kind,
                    schema,
                    name,
                    parent,
                    arguments: args,
                    oid,
                    origin: oid === null ? null : origin,
                    position: last + index + 1,
                    migration,
                    adopted: false,
                })),
        ],
    };
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

async function nothingCommittedSince(client: SqlClient, mark: string): Promise<boolean> {
    return noOtherCommit(await client.query(catalogReads([committedSinceStatement(mark, [], false, client)])));
}

/** Appends `objects` to the records of `migration`, after every position already taken; `alongside`, in the same statement. */
export async function insertRecords(
    client: SqlClient,
    migration: string,
    objects: NewRecord[],
    adopted: boolean,
    alongside?: Write,
): Promise<void> {
    const write = recordsInsert(migration, objects, adopted, objects.length > 0 ? await currentOrigin(client) : null, alongside);
    if (write) {
        await client.query(write.text, write.values);
    }
}

type NewRecord = Pick<CatalogObject, "identity" | "kind" | "schema" | "name" | "parent" | "arguments"> & { oid?: number | null };

// The writes take their lists as one jsonb value each, so every value is a scalar and can go inline (inlined()).
function recordsInsert(migration: string, objects: NewRecord[], adopted: boolean, origin: string | null, alongside?: Write) {
    if (objects.length === 0) {
        return alongside?.(1);
    }
    const insert = `insert into ${OWNERSHIP_TABLE} (position, migration, kind, identity, schema_name, name, parent, arguments, adopted, oid, origin)
         select coalesce((select pg_catalog.max(position) from ${OWNERSHIP_TABLE}), 0) + o.n, $1, o.kind, o.identity, o.schema, o.name, o.parent, o.arguments, $2,
                o.oid, case when o.oid is not null then $4 end
           from rows from (pg_catalog.jsonb_to_recordset($3::jsonb)
                           as (kind text, identity text, schema text, name text, parent text, arguments text, oid bigint)) with ordinality
                as o(kind, identity, schema, name, parent, arguments, oid, n)
         on conflict (identity) do nothing`;
    const rows = objects.map(({ kind, identity, schema, name, parent, arguments: args, oid }) => ({
        kind,
        identity,
        schema,
        name,
        parent,
        arguments: args,
        oid: oid ?? null,
    }));
    const other = alongside?.(5);
    return {
        text: other ? `with records as (${insert}) ${other.text}` : insert,
        values: [migration, adopted, JSON.stringify(rows), origin, ...(other?.values ?? [])],
    };
}

function forgetRecords(identities: string[]) {
    return {
        text: `delete from ${OWNERSHIP_TABLE} where identity in (select pg_catalog.jsonb_array_elements_text($1::jsonb))`,
        values: [JSON.stringify(identities)],
    };
}

function renewRecords(oids: Map<string, number | null>, origin: string | null) {
    return {
        text: `update ${OWNERSHIP_TABLE} c set oid = r.oid::bigint, origin = $1
                 from pg_catalog.jsonb_each_text($2::jsonb) as r(identity, oid) where c.identity = r.identity`,
        values: [origin, JSON.stringify(Object.fromEntries(oids))],
    };
}

/** The records in creation order; empty when there are none (or no ownership table). `exists`: whether the table does, when the caller asked. */
export async function readRecords(client: SqlClient, exists?: boolean): Promise<RecordedObject[]> {
    if (!(
        exists ?? (await client.query<{ found: boolean }>(`select to_regclass('${OWNERSHIP_TABLE}') is not null as found`)).rows[0].found
    )) {
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
        oid: string | null;
        origin: string | null;
    }>(
        // to_jsonb(row): a table not yet upgraded (no oid, no origin) reads as null, ownership by identity.
        `select position, migration, kind, identity, schema_name as schema, name, parent, arguments, adopted,
                pg_catalog.to_jsonb(c) ->> 'oid' as oid, pg_catalog.to_jsonb(c) ->> 'origin' as origin
           from ${OWNERSHIP_TABLE} c order by position`,
    );
    return result.rows.map((row) => ({ ...row, oid: row.oid === null ? null : Number(row.oid) }));
}

/** Recorded objects the database no longer has, in creation order; `recorded`: the records, when the caller read them. */
export async function missingRecorded(client: SqlClient, recorded?: RecordedObject[]): Promise<RecordedObject[]> {
    recorded ??= await readRecords(client);
    if (recorded.length === 0) {
        return [];
    }
    const present = await snapshot(client);
    return recorded.filter((object) => !present.has(object.identity));
}
