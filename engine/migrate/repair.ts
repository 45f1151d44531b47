// Drift of the schema's objects, and its repair. `pulumi refresh` (the provider's read) lists the
// recorded objects that are gone from the database (a manual `drop index`, say); the next `up` then
// re-runs, under the migration lock and each in its own transaction, the migrations the ownership
// records say created them. That is safe because every migration is idempotent by house rule
// (guarded DDL), so a re-run re-creates what is missing and leaves the rest as it is; what it creates
// anew is recorded like any migration's. The ledger does not change: the files did not. What no
// migration re-creates (a dropped primary key: `create table if not exists` skips a table that is
// there) is refused with a message naming it.
import type { SqlClient } from "../db/client";
import { boundedTransaction } from "./bounded";
import { comparedOrigins, REUSED_REASON, reusedRecords, SHARED_KINDS } from "./identity";
import { ensureLedger, readLedger } from "./ledger";
import { parseSqlFile, runStatements } from "./execute";
import { expectedObjects } from "./manifest";
import { withMigrationLock } from "./lock";
import { missingRecorded, readRecords, recordCreated } from "./ownership";
import { columnsRecreated, type ChangedColumns } from "./changed-columns";
import type { MigrationFile } from "./plan";
import type { SchemaOptions } from "./render";
import { snapshot } from "./snapshot";
import { MigrationSession, type SessionOptions } from "./session";
import { rerunSteps } from "./step-runner";
import { declaredSteps } from "./steps";

/** Every object the schema creates by the manifest, as "<kind> <name>"; what a refresh of a database without ownership records checks. */
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

export interface RepairResult {
    /** What was missing before the repair (ownership identities). */
    missing: string[];
    /** The migrations re-run, in order. */
    rerun: string[];
    /** What the re-run migrations created beside what was missing (a role that no longer existed, say), now recorded as the stack's. */
    alsoCreated: string[];
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
                "or roll the schema back (memory-stack rollback; it drops the memory tables) and apply again.",
        );
        this.name = "SchemaRepairError";
    }
}

/** Repair would re-run a migration that created an object someone else has since created again under the same name. */
export class RepairRefusedError extends Error {
    constructor(
        readonly missing: string[],
        readonly rerun: string[],
        readonly reused: { identity: string; migration: string }[],
    ) {
        const one = reused.length === 1;
        const migrations = [...new Set(reused.map((object) => object.migration))];
        super(
            `refusing to repair the memory schema: re-creating ${missing.join(", ")} means running ${rerun.join(", ")} again, and ` +
                `${reused.map((object) => `${object.identity} (created by ${object.migration})`).join(", ")} ${one ? "is" : "are"} not the stack's any more: ` +
                `${REUSED_REASON}. A re-run would drop or change ${one ? "it" : "them"}, and the stack never changes what it did not create. Nothing was run. ` +
                `Rename or drop the application's ${one ? "object" : "objects"} and repair again; or keep ${one ? "it" : "them"}, accept that ${migrations.join(", ")} ` +
                "cannot be re-run, and re-create what is missing by hand (the migrations in sql/ hold the definitions).",
        );
        this.name = "RepairRefusedError";
    }
}

/** Re-creates the missing recorded objects by re-running the applied `migrations` that created them; throws SchemaRepairError when that is not enough. */
export async function repairSchema(
    client: SqlClient,
    migrations: readonly MigrationFile[],
    options: SessionOptions = {},
): Promise<RepairResult> {
    const session = new MigrationSession(client, options);
    return withMigrationLock(session, () => repairUnderLock(session, migrations));
}

/** repairSchema for a caller that holds the migration lock already (an apply). */
export async function repairUnderLock(
    session: MigrationSession,
    migrations: readonly MigrationFile[],
): Promise<RepairResult & { changedColumns: ChangedColumns[] }> {
    const { client } = session;
    const recordedBefore = await readRecords(client);
    const missing = await missingRecorded(client, recordedBefore);
    if (missing.length === 0) {
        return { missing: [], rerun: [], alsoCreated: [], changedColumns: [] };
    }
    // From the first migration that created a missing object to the end: a later migration may have
    // replaced what an earlier one made (0011 gives auth.uid() a new body), and migrations are idempotent.
    const needed = new Set(missing.map((object) => object.migration));
    const first = migrations.findIndex((migration) => needed.has(migration.name));
    const applied = new Set((await readLedger(client)).map((row) => row.name));
    const rerun = first < 0 ? [] : migrations.slice(first).filter((migration) => applied.has(migration.name));
    // Before anything runs: a migration to re-run that created what is now someone else's would drop or replace it.
    const rerunNames = new Set(rerun.map((migration) => migration.name));
    const reused = reusedRecords(
        recordedBefore.filter((record) => rerunNames.has(record.migration) && !SHARED_KINDS.has(record.kind)),
        await snapshot(client),
        await comparedOrigins(client),
    );
    if (reused.length > 0) {
        throw new RepairRefusedError(
            missing.map((object) => object.identity),
            rerun.map((migration) => migration.name),
            reused,
        );
    }
    if (rerun.length > 0) {
        await ensureLedger(client); // records written by the re-runs carry oids (identity.ts)
    }
    for (const migration of rerun) {
        const statements = await parseSqlFile(migration.name, migration.sql);
        const steps = declaredSteps(migration.name, migration.sql, statements);
        if (steps) {
            await rerunSteps(session, migration, steps); // its steps are safe to run again (docs/migrations.md)
            continue;
        }
        const outcome = `${migration.name} was re-run to re-create missing objects and rolled back: the database is as it was before.`;
        await boundedTransaction(session, `re-running ${migration.name}`, outcome, async () => {
            const before = await snapshot(client);
            await runStatements(client, migration.name, migration.sql, statements, outcome);
            await recordCreated(client, migration.name, before, {
                connect: session.connect,
                observer: session.checker,
                outcome,
                memory: { sql: migration.sql, session },
            });
        });
    }
    const recordedAfter = await readRecords(client);
    const stillMissing = await missingRecorded(client, recordedAfter);
    if (stillMissing.length > 0) {
        throw new SchemaRepairError(
            missing.map((object) => object.identity),
            rerun.map((migration) => migration.name),
            stillMissing.map((object) => object.identity),
        );
    }
    const before = new Set(recordedBefore.map((record) => record.identity));
    return {
        missing: missing.map((object) => object.identity),
        rerun: rerun.map((migration) => migration.name),
        alsoCreated: recordedAfter.filter((record) => !before.has(record.identity)).map((record) => record.identity),
        changedColumns: columnsRecreated(missing),
    };
}
