// Drift of the schema's objects, and its repair. `pulumi refresh` (the provider's read) lists the
// objects of the manifest that are gone from the database (a manual `drop index`, say); the next
// `up` then re-runs, under the migration lock and each in its own transaction, only the applied
// migrations that create a missing object. That is safe because every migration is idempotent by
// house rule (guarded DDL: `if not exists`, `create or replace`, `drop … if exists` then `create`),
// so a re-run re-creates what is missing and leaves the rest as it is. The ledger does not change:
// the files did not. What no migration re-creates (a dropped primary key: `create table if not
// exists` skips a table that is there) is refused with a message naming it.
import { withTransaction } from "../db/client";
import { expectedObjects } from "./manifest";
import type { SqlClient } from "./ledger";
import { DEFAULT_LOCK_TIMEOUT_MS, withMigrationLock } from "./lock";
import { parseSqlFile, runStatements } from "./execute";
import type { MigrationFile } from "./plan";
import type { SchemaOptions } from "./render";

/** Every object the schema creates, as "<kind> <name>": "index idx_sessions_status", "trigger sessions.update_sessions_updated_at", "function public.f(a uuid)". */
export function schemaObjects(options: SchemaOptions): string[] {
    const manifest = expectedObjects(options);
    return [
        ...manifest.extensions.map((name) => `extension ${name}`),
        ...manifest.tables.map((name) => `table ${name}`),
        ...manifest.indexes.map((index) => `index ${index.name}`),
        ...manifest.views.map((name) => `view ${name}`),
        ...manifest.functions.map((signature) => `function ${signature}`),
        ...manifest.triggers.map((trigger) => `trigger ${trigger.table}.${trigger.name}`),
        ...manifest.policies.map((policy) => `policy ${policy.table}.${policy.name}`),
    ];
}

// One round trip: what exists of each kind, named as schemaObjects names it (tables, views and
// indexes in public; functions as "schema.name(identity arguments)", see manifest.ts).
const PRESENT = `
    select case c.relkind when 'i' then 'index ' when 'v' then 'view ' when 'm' then 'view ' else 'table ' end || c.relname as object
      from pg_class c join pg_namespace n on n.oid = c.relnamespace
     where n.nspname = 'public' and c.relkind in ('r', 'p', 'i', 'v', 'm')
    union all
    select 'function ' || n.nspname || '.' || p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')'
      from pg_proc p join pg_namespace n on n.oid = p.pronamespace where n.nspname in ('public', 'auth', 'memory_stack')
    union all
    select 'trigger ' || c.relname || '.' || t.tgname from pg_trigger t join pg_class c on c.oid = t.tgrelid where not t.tgisinternal
    union all
    select 'policy ' || tablename || '.' || policyname from pg_policies where schemaname = 'public'
    union all
    select 'extension ' || extname from pg_extension`;

/** The objects of `objects` (schemaObjects names) that the database does not have, in the given order. */
export async function missingObjects(client: SqlClient, objects: readonly string[]): Promise<string[]> {
    const present = new Set((await client.query<{ object: string }>(PRESENT)).rows.map((row) => row.object));
    return objects.filter((object) => !present.has(object));
}

/** The last migration whose text creates `object`, or undefined when none does (e.g. a primary key). */
export function creatingMigration(object: string, migrations: readonly MigrationFile[]): MigrationFile | undefined {
    const pattern = creates(object);
    return pattern ? [...migrations].reverse().find((migration) => pattern.test(migration.sql)) : undefined;
}

function creates(object: string): RegExp | undefined {
    const space = object.indexOf(" ");
    const kind = object.slice(0, space);
    const name = object.slice(space + 1);
    const last = (qualified: string) => escape(qualified.slice(qualified.lastIndexOf(".") + 1));
    const guard = String.raw`(?:if\s+not\s+exists\s+)?`;
    const schema = String.raw`(?:\w+\.)?`;
    switch (kind) {
        case "extension":
            return new RegExp(String.raw`create\s+extension\s+${guard}"?${escape(name)}"?(?![\w-])`, "i");
        case "table":
            return new RegExp(String.raw`create\s+table\s+${guard}${schema}${escape(name)}\b`, "i");
        case "index":
            return new RegExp(String.raw`create\s+(?:unique\s+)?index\s+(?:concurrently\s+)?${guard}${escape(name)}\b`, "i");
        case "view":
            return new RegExp(String.raw`create\s+(?:or\s+replace\s+)?view\s+${schema}${escape(name)}\b`, "i");
        case "function": {
            const [schemaName, bare] = name.slice(0, name.indexOf("(")).split(".");
            return new RegExp(String.raw`create\s+(?:or\s+replace\s+)?function\s+(?:${escape(schemaName)}\.)?${escape(bare)}\s*\(`, "i");
        }
        case "trigger":
            return new RegExp(String.raw`create\s+(?:or\s+replace\s+)?trigger\s+${last(name)}\b`, "i");
        case "policy":
            return new RegExp(String.raw`create\s+policy\s+${last(name)}\b`, "i");
        default:
            return undefined;
    }
}

export interface RepairResult {
    /** What was missing before the repair. */
    missing: string[];
    /** The migrations re-run, in order. */
    rerun: string[];
}

export class SchemaRepairError extends Error {
    constructor(
        readonly missing: string[],
        readonly rerun: string[],
        readonly stillMissing: string[],
    ) {
        super(
            `the memory schema drifted and could not be repaired: ${stillMissing.join(", ")} still missing` +
                `${rerun.length > 0 ? ` after re-running ${rerun.join(", ")}` : ""}; no migration re-creates ${stillMissing.length === 1 ? "it" : "them"}. ` +
                "Re-create what is missing by hand (the migrations in sql/ hold the definitions), then `pulumi refresh` and `pulumi up`; " +
                "or roll the schema back (memory-stack rollback; it drops the memory tables) and apply it again.",
        );
        this.name = "SchemaRepairError";
    }
}

/** Re-creates the missing `objects` by re-running the applied `migrations` that create them; throws SchemaRepairError when that is not enough. */
export async function repairSchema(
    client: SqlClient,
    migrations: readonly MigrationFile[],
    objects: readonly string[],
    lockTimeoutMs = DEFAULT_LOCK_TIMEOUT_MS,
): Promise<RepairResult> {
    return withMigrationLock(client, lockTimeoutMs, () => repairUnderLock(client, migrations, objects));
}

/** repairSchema for a caller that holds the migration lock already (an apply). */
export async function repairUnderLock(
    client: SqlClient,
    migrations: readonly MigrationFile[],
    objects: readonly string[],
): Promise<RepairResult> {
    const missing = await missingObjects(client, objects);
    if (missing.length === 0) {
        return { missing, rerun: [] };
    }
    const needed = new Set(missing.map((object) => creatingMigration(object, migrations)).filter((found) => found !== undefined));
    const rerun = migrations.filter((migration) => needed.has(migration));
    for (const migration of rerun) {
        const statements = await parseSqlFile(migration.name, migration.sql);
        await withTransaction(client, () =>
            runStatements(
                client,
                migration.name,
                migration.sql,
                statements,
                `${migration.name} was re-run to re-create missing objects and rolled back: the database is as it was before.`,
            ),
        );
    }
    const stillMissing = await missingObjects(client, objects);
    if (stillMissing.length > 0) {
        throw new SchemaRepairError(
            missing,
            rerun.map((migration) => migration.name),
            stillMissing,
        );
    }
    return { missing, rerun: rerun.map((migration) => migration.name) };
}

function escape(text: string): string {
    return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
