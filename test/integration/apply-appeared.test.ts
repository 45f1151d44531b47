// Objects an application creates while an apply runs are never taken over. The preflight ran before
// the first migration; later files use `create … if not exists` and `create or replace`, and the
// lock-retry loop can hold an apply for minutes. A name the memory schema creates that is there and
// not the stack's, or an object a migration changed that another session committed, refuses that
// migration (or step) whole, naming the object.
import type { Client } from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { AppearedWhileApplyingError } from "../../engine/migrate/appeared";
import { applyMigrations, readLedger, readRecords, type MigrationFile } from "../../engine/migrate/index";
import { describeVariant } from "../../engine/migrate/plan";
import { DEFAULT_OPTIONS, migrationsFor } from "../support/apply-sql";
import { dropRoles, freshDatabase, sharedServer, type TestDatabase } from "../support/database";
import { migration } from "../support/migrations";
import { until } from "../support/poll";

const databases: TestDatabase[] = [];

afterAll(async () => {
    await Promise.all(databases.map((db) => db.drop()));
    await dropRoles(sharedServer(), [DEFAULT_OPTIONS.appRole, DEFAULT_OPTIONS.adminRole]);
});

async function database(prefix: string): Promise<{ db: TestDatabase; client: Client }> {
    const db = await freshDatabase(prefix);
    databases.push(db);
    const client = await db.connect();
    await client.query("create table public.users (id uuid primary key)");
    return { db, client };
}

/** Starts an apply of `migrations` the way the CLI runs it; resolves with its error (or undefined), and collects its wait lines. */
function startApply(db: TestDatabase, migrations: MigrationFile[], lockTimeoutMs: number) {
    const waits: string[] = [];
    const outcome = db.connect().then((client) =>
        applyMigrations(client, migrations, {
            variant: describeVariant(DEFAULT_OPTIONS),
            schema: DEFAULT_OPTIONS,
            locks: { timeoutMs: lockTimeoutMs, deadlineSeconds: 60 },
            onWait: (line) => waits.push(line),
            connect: () => db.connect(),
        }).then(
            () => undefined,
            (error: unknown) => error as Error,
        ),
    );
    const waitingOn = (file: string) =>
        until(`the apply to wait on ${file}`, () => (waits.some((line) => line.includes(file)) ? true : undefined));
    return { outcome, waitingOn };
}

const ledger = async (client: Client) => (await readLedger(client)).map((row) => row.name);

describe("an application table created while the apply waits for a lock", () => {
    it("refuses the next migration whole, and the application's table keeps its rows, grants and no memory policy, index or RLS", async () => {
        const { db, client } = await database("appeared_table");
        const holder = await db.connect({ application_name: "billing-worker" });
        await holder.query("begin");
        await holder.query("select count(*) from users");
        const apply = startApply(db, migrationsFor(), 100);
        await apply.waitingOn("0002_users.sql");

        await client.query(`create table public.audit_logs (id bigserial primary key, actor text);
            insert into public.audit_logs (actor) select 'app' from generate_series(1, 50);
            grant select on public.audit_logs to public`);
        await holder.query("commit");
        const error = await apply.outcome;

        expect(error).toBeInstanceOf(AppearedWhileApplyingError);
        expect(error?.message).toContain(
            "0002_users.sql: table public.audit_logs, index public.audit_logs_pkey appeared while the apply ran and are not the stack's",
        );
        expect(error?.message).toContain("Nothing of 0002_users.sql was applied (this run applied 0001_foundation.sql before it)");
        expect(await ledger(client)).toEqual(["0001_foundation.sql"]);
        const table = await client.query(`select c.relrowsecurity as rls, c.relacl::text as acl,
                (select count(*)::int from pg_policy where polrelid = c.oid) as policies,
                (select array_agg(indexrelid::regclass::text order by 1) from pg_index where indrelid = c.oid) as indexes,
                (select count(*)::int from public.audit_logs) as rows
           from pg_class c where c.oid = 'public.audit_logs'::regclass`);
        expect(table.rows[0]).toEqual({
            rls: false,
            acl: `{${db.server.user}=arwdDxt/${db.server.user},=r/${db.server.user}}`,
            policies: 0,
            indexes: ["audit_logs_pkey"],
            rows: 50,
        });
        expect((await readRecords(client)).map((record) => record.identity)).not.toContain("table public.audit_logs");

        // Out of the way, the next apply goes through and leaves the application's table as it is.
        await client.query("alter table audit_logs rename to app_audit_logs; alter index audit_logs_pkey rename to app_audit_logs_pkey");
        const retry = startApply(db, migrationsFor(), 100);
        expect(await retry.outcome).toBeUndefined();
        expect((await client.query("select relrowsecurity as rls from pg_class where relname = 'app_audit_logs'")).rows[0].rls).toBe(false);
    });
});

describe("an application function created while a migration that replaces that name waits for a lock", () => {
    it("refuses that migration: the application's body and trigger stay, the ledger does not list it", async () => {
        const { db, client } = await database("appeared_function");
        const all = migrationsFor();
        const upToFunctions = all.findIndex((file) => file.name === "0005_functions_triggers.sql");
        expect(await startApply(db, all.slice(0, upToFunctions), 100).outcome).toBeUndefined();
        const holder = await db.connect({ application_name: "agent-writer" });
        await holder.query("begin");
        await holder.query("lock table public.sessions in row exclusive mode");
        const apply = startApply(db, all, 100);
        await apply.waitingOn("0005_functions_triggers.sql");

        await client.query(`create table public.app_orders (id int primary key, updated_at timestamptz);
            create function public.update_updated_at_column() returns trigger language plpgsql as $$
            begin new.updated_at := '2000-01-01'; return new; end $$;
            create trigger app_orders_updated_at before insert or update on public.app_orders
                for each row execute function public.update_updated_at_column()`);
        await holder.query("commit");
        const error = await apply.outcome;

        expect(error).toBeInstanceOf(AppearedWhileApplyingError);
        expect(error?.message).toContain(
            "0005_functions_triggers.sql: function public.update_updated_at_column() appeared while the apply ran and is not the stack's",
        );
        expect(await ledger(client)).toEqual(all.slice(0, upToFunctions).map((file) => file.name));
        await client.query("insert into app_orders (id) values (1)");
        expect((await client.query("select updated_at::date::text as day from app_orders")).rows[0].day).toBe("2000-01-01");
    });
});

describe("an object committed between a migration's catalog read and its statement", () => {
    it("is seen by another session, so the migration that replaced it is refused instead of recording it as the stack's", async () => {
        const { db, client } = await database("appeared_between");
        const all = migrationsFor();
        const upToFunctions = all.findIndex((file) => file.name === "0005_functions_triggers.sql");
        expect(await startApply(db, all.slice(0, upToFunctions), 100).outcome).toBeUndefined();
        const gate = await db.connect();
        await gate.query("select pg_advisory_lock(4242)");
        // Waits inside its transaction, after its catalog read, with a lock_timeout longer than the wait.
        const replacing = migration(
            "0005_gated_function.sql",
            `select pg_advisory_xact_lock(4242);
create or replace function public.update_updated_at_column() returns trigger language plpgsql as $$ begin new.updated_at := now(); return new; end $$;
`,
        );
        const apply = startApply(db, [...all.slice(0, upToFunctions), replacing], 60_000);
        await waitingAt(client, 4242, "the migration to wait at its gate");

        await client.query(
            "create function public.update_updated_at_column() returns trigger language plpgsql as $$ begin return new; end $$",
        );
        await gate.query("select pg_advisory_unlock(4242)");
        const error = await apply.outcome;

        expect(error).toBeInstanceOf(AppearedWhileApplyingError);
        expect(error?.message).toContain(
            "0005_gated_function.sql: function public.update_updated_at_column() appeared while the apply ran",
        );
        expect(await ledger(client)).not.toContain("0005_gated_function.sql");
        expect((await client.query("select prosrc from pg_proc where proname = 'update_updated_at_column'")).rows[0].prosrc).toBe(
            " begin return new; end ",
        );
        expect((await readRecords(client)).map((record) => record.identity)).not.toContain("function public.update_updated_at_column()");
    });
});

/** Until a session of this database waits for advisory lock `key`: the apply stands at its gate. */
async function waitingAt(client: Client, key: number, what: string): Promise<void> {
    await until(what, async () =>
        (
            await client.query(
                `select exists (select from pg_locks where locktype = 'advisory' and objid = $1 and not granted
                    and database = (select oid from pg_database where datname = current_database())) as waiting`,
                [key],
            )
        ).rows[0].waiting
            ? true
            : undefined,
    );
}

describe("a transactional step", () => {
    it("is refused when a name the schema creates appeared while it waited, the steps before it staying done", async () => {
        const { db, client } = await database("appeared_step");
        const all = migrationsFor();
        const upToFunctions = all.findIndex((file) => file.name === "0005_functions_triggers.sql");
        expect(await startApply(db, all.slice(0, upToFunctions), 100).outcome).toBeUndefined();
        const gate = await db.connect();
        await gate.query("select pg_advisory_lock(4243)");
        const stepped = migration(
            "0005_stepped_functions.sql",
            `-- step: first transaction
select 1;
-- step: gate transaction
select pg_advisory_xact_lock(4243);
-- step: functions transaction
create or replace function public.update_updated_at_column() returns trigger language plpgsql as $$ begin new.updated_at := now(); return new; end $$;
`,
        );
        const apply = startApply(db, [...all.slice(0, upToFunctions), stepped], 60_000);
        await waitingAt(client, 4243, "the gate step to wait");

        await client.query(
            "create function public.update_updated_at_column() returns trigger language plpgsql as $$ begin return new; end $$",
        );
        await gate.query("select pg_advisory_unlock(4243)");
        const error = await apply.outcome;

        expect(error).toBeInstanceOf(AppearedWhileApplyingError);
        expect(error?.message).toContain(
            "0005_stepped_functions.sql: function public.update_updated_at_column() appeared while the apply ran and is not the stack's",
        );
        expect(error?.message).toContain("0005_stepped_functions.sql step gate was rolled back; the steps before it stay done");
        const steps = await client.query("select step from memory_stack.migration_steps where migration = '0005_stepped_functions.sql'");
        expect(steps.rows.map((row) => row.step)).toEqual(["first"]);
        expect((await client.query("select prosrc from pg_proc where proname = 'update_updated_at_column'")).rows[0].prosrc).toBe(
            " begin return new; end ",
        );
    });
});
