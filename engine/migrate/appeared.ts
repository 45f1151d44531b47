// Objects an application creates while an apply runs are never taken over. The preflight runs once,
// before the first migration; the migrations after it use `create … if not exists` and `create or
// replace`, and the lock-retry loop can stretch the apply over minutes. So inside each migration's
// transaction, from the catalog read before its statements (in the same transaction) and after them,
// a migration is refused (and rolled back whole) when:
// - a name the memory schema creates (the preflight's list) is there, not recorded as the stack's,
//   and either was there before the statements or was not written by them: it appeared since the
//   preflight, and `if not exists` would skip it or `create or replace` replace it;
// - an object the statements seem to have created is seen by another session: it was committed by
//   someone else after the catalog before was read, and a statement changed it (a `create or
//   replace`, an `alter` or a `grant` gives the row our transaction id). An uncommitted object of
//   ours is invisible to every other session. Shared objects (roles, schemas, extensions) seen there
//   are not refused, only never recorded. When no other transaction committed between the two reads
//   (committedSinceStatement), there is no such object, and the second session is not asked;
// - an object the statements changed was not in the catalog the run's previous migration left: another
//   session created it between the two migrations' transactions (shared objects again excepted).
import { preparedName, type SqlClient } from "../db/client";
import { describeError } from "../db/errors";
import { expectedObjects } from "./manifest";
import type { SchemaOptions } from "./render";
import { FUNCTION_ARGUMENTS, type CatalogObject } from "./snapshot";

export class AppearedWhileApplyingError extends Error {
    constructor(
        readonly what: string,
        readonly objects: string[],
        outcome: string,
    ) {
        const one = objects.length === 1;
        super(
            `${what}: ${objects.join(", ")} appeared while the apply ran and ${one ? "is" : "are"} not the stack's ` +
                `(another session created ${one ? "it" : "them"} after the preflight), and the memory schema never takes over an object it did not create: ` +
                `rename or move the application's object out of the way, or deploy the memory schema into a database of its own. ${outcome}`,
        );
        this.name = "AppearedWhileApplyingError";
    }
}

export interface TakeOverCheck {
    /** Names the memory schema creates (namedBy); without it only the second rule applies. */
    named?: (object: CatalogObject) => boolean;
    /** A session other than the migrating one (a new one when given the one that failed); without it the second rule cannot be checked. */
    observer?: (failed?: SqlClient) => Promise<SqlClient | undefined>;
    /** The catalog the run's previous migration left, after its statements; without it the third rule does not apply. */
    since?: Map<string, CatalogObject>;
    /** No other transaction committed between the catalog before and after (committedSinceStatement): nothing new can be another session's, so the second rule needs no second session. */
    noOtherCommit?: boolean;
}

const SHARED = new Set(["role", "schema", "extension"]);

/**
 * Throws AppearedWhileApplyingError for what the migration would take over (see the header); returns
 * the shared objects another session sees, which look created by the migration but are not its own.
 */
export async function refuseTakeOver(
    what: string,
    outcome: string,
    before: Map<string, CatalogObject>,
    after: Map<string, CatalogObject>,
    owned: Set<string>,
    check: TakeOverCheck,
): Promise<Set<string>> {
    const appeared = [...after.values()].filter(
        (object) =>
            !owned.has(object.identity) &&
            ((check.named?.(object) && (before.has(object.identity) || object.created !== true)) ||
                (check.since !== undefined &&
                    object.created === true &&
                    before.has(object.identity) &&
                    !check.since.has(object.identity) &&
                    !SHARED.has(object.kind))),
    );
    const fresh = [...after.values()].filter(
        (object) => object.created === true && !before.has(object.identity) && !owned.has(object.identity),
    );
    const elsewhere = fresh.length > 0 && !check.noOtherCommit ? await askElsewhere(what, outcome, fresh, check) : new Set<string>();
    appeared.push(...fresh.filter((object) => elsewhere.has(object.identity) && !SHARED.has(object.kind) && !appeared.includes(object)));
    if (appeared.length > 0) {
        throw new AppearedWhileApplyingError(
            what,
            appeared.sort((a, b) => (a.oid ?? Infinity) - (b.oid ?? Infinity)).map((object) => object.identity),
            outcome,
        );
    }
    return elsewhere;
}

let lastNamed: { options: string; named: (object: CatalogObject) => boolean } | undefined;

/**
 * The memory schema's names, as the preflight checks them: relations and same-named types in public, functions by name, triggers and policies on the memory tables.
 * The last options' are kept: an apply asks for every migration with the same ones.
 */
export function namedBy(options: SchemaOptions): (object: CatalogObject) => boolean {
    const key = JSON.stringify(options);
    if (lastNamed?.options !== key) {
        lastNamed = { options: key, named: namesOf(options) };
    }
    return lastNamed.named;
}

function namesOf(options: SchemaOptions): (object: CatalogObject) => boolean {
    const manifest = expectedObjects(options);
    const relations = new Set([...manifest.tables, ...manifest.views, ...manifest.indexes.map((index) => index.name)]);
    // auth.uid() is shared by design: Supabase has its own.
    const functions = new Set(
        manifest.functions.filter((signature) => signature !== "auth.uid()").map((signature) => signature.slice(0, signature.indexOf("("))),
    );
    const parts = new Set([...manifest.triggers, ...manifest.policies].map((part) => `${part.table}.${part.name}`));
    return (object) => {
        switch (object.kind) {
            case "function":
                return functions.has(`${object.schema}.${object.name}`);
            case "trigger":
            case "policy":
                return object.schema === "public" && parts.has(`${object.parent}.${object.name}`);
            case "column":
            case "constraint":
            case "schema":
            case "extension":
            case "role":
                return false;
            default:
                return object.schema === "public" && relations.has(object.name);
        }
    };
}

// Which of these objects exist for another session: one query, by kind.
const VISIBLE = `
    select o.identity from unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[])
        as o(identity, kind, schema, name, parent, arguments)
     where case o.kind
        when 'role' then exists (select from pg_roles where rolname = o.name)
        when 'schema' then exists (select from pg_namespace where nspname = o.name)
        when 'extension' then exists (select from pg_extension where extname = o.name)
        when 'function' then exists (select from pg_proc p join pg_namespace n on n.oid = p.pronamespace
                                      where n.nspname = o.schema and p.proname = o.name and ${FUNCTION_ARGUMENTS} = o.arguments)
        when 'type' then exists (select from pg_type t join pg_namespace n on n.oid = t.typnamespace where n.nspname = o.schema and t.typname = o.name)
        when 'domain' then exists (select from pg_type t join pg_namespace n on n.oid = t.typnamespace where n.nspname = o.schema and t.typname = o.name)
        when 'trigger' then exists (select from pg_trigger g where g.tgrelid = to_regclass(format('%I.%I', o.schema, o.parent)) and g.tgname = o.name)
        when 'policy' then exists (select from pg_policy y where y.polrelid = to_regclass(format('%I.%I', o.schema, o.parent)) and y.polname = o.name)
        when 'column' then exists (select from pg_attribute a where a.attrelid = to_regclass(format('%I.%I', o.schema, o.parent))
                                      and a.attname = o.name and a.attnum > 0 and not a.attisdropped)
        when 'constraint' then exists (select from pg_constraint k where k.conrelid = to_regclass(format('%I.%I', o.schema, o.parent)) and k.conname = o.name)
        else exists (select from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname = o.schema and c.relname = o.name)
     end`;

/** visible() on the second session; once more on a new one when it fails (the server may have ended it since its last use). */
async function askElsewhere(what: string, outcome: string, fresh: CatalogObject[], check: TakeOverCheck): Promise<Set<string>> {
    if (check.observer === undefined) {
        // The caller gave no way to open a second session (an embedding that chose so): what it wrote is taken as its own.
        return new Set<string>();
    }
    const observer = await check.observer();
    if (observer === undefined) {
        throw new Error(
            `${what}: another transaction committed while it ran, and no second session could be opened (the server may have no connection left) ` +
                `to tell what the migration created from what that one committed. ${outcome}`,
        );
    }
    try {
        return await visible(observer, fresh);
    } catch (error) {
        try {
            const again = await check.observer?.(observer);
            if (again === undefined) {
                throw error;
            }
            return await visible(again, fresh);
        } catch (final) {
            throw new Error(
                `${what}: the second session that checks what another session committed meanwhile failed (${describeError(final)}), ` +
                    `so what the migration created could not be told apart from an application's objects. ${outcome}`,
                { cause: final },
            );
        }
    }
}

async function visible(observer: SqlClient, objects: CatalogObject[]): Promise<Set<string>> {
    const values = [
        objects.map((object) => object.identity),
        objects.map((object) => object.kind),
        objects.map((object) => object.schema),
        objects.map((object) => object.name),
        objects.map((object) => object.parent),
        objects.map((object) => object.arguments),
    ];
    // Prepared once per connection, as the snapshot is: it runs for every migration.
    const result = await observer.query<{ identity: string }>({ name: preparedName(observer, "visible"), text: VISIBLE, values });
    return new Set(result.rows.map((row) => row.identity));
}
