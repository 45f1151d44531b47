// attack7: the claim of e87c20c is that nothing a role planted in schema public runs during apply,
// repair or rollback: the engine's own statements resolve names in pg_catalog alone. These tests plant,
// as a role that may only create in public, functions that a closer argument match makes PostgreSQL
// prefer to pg_catalog's, each counting its calls in a sequence of its own (no rollback rewinds one),
// and run the paths the fix left on the engine's search_path (public first): the rollback's transaction
// (dependents.ts, rollback.sql) and a `no transaction` step (runSteps sets public, … at session level,
// and recordIndexAhead runs in a migration transaction). Whatever runs there runs with the migrating
// role's rights (a superuser's here, as in the tests beside this one).
import type { Client } from "pg";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
    applyMigrations,
    loadRollbackSql,
    MIGRATION_LOCK_KEY,
    MigrationLockTimeoutError,
    rollbackSchema,
    type MigrationFile,
} from "../../engine/migrate/index";
import { DEFAULT_OPTIONS } from "../support/apply-sql";
import { freshDatabase, type TestDatabase } from "../support/database";
import { migration } from "../support/migrations";
import { plant, plantedRan, plantingSession, resetPlanted } from "../support/planted";

const PLANTER = "attack7_sp_planter";
const PASSWORD = "attack7-sp-planter-password";
let db: TestDatabase;
let client: Client;
let planter: Client;

beforeAll(async () => {
    db = await freshDatabase("attack7_sp");
    client = await db.connect();
    planter = await plantingSession(client, db.config, PLANTER, PASSWORD, true);
    await plant(planter);
});

afterAll(async () => {
    await planter?.end().catch(() => undefined);
    await db?.drop();
    await client?.end().catch(() => undefined);
    const { withClient } = await import("../support/database");
    await withClient({ ...db.config, database: "postgres" }, (admin) => admin.query(`drop role if exists ${PLANTER}`)).catch(
        () => undefined,
    );
});

beforeEach(async () => {
    await resetPlanted(client);
});

const program: MigrationFile[] = [
    migration("0001_attack7_table.sql", "create table public.attack7_notes (id int primary key, body text not null default '');\n"),
    migration(
        "0002_attack7_index.sql",
        `-- step: notes_body no transaction
create index concurrently if not exists attack7_notes_body on public.attack7_notes (body);`,
    ),
];

describe("a role that can create in public, against the paths still on the engine's public-first search_path", () => {
    it("gets nothing run by an apply whose migration builds an index concurrently (a `no transaction` step)", async () => {
        await applyMigrations(client, program, { variant: "jsonb" });
        expect((await client.query("select to_regclass('public.attack7_notes_body') is not null as built")).rows[0].built).toBe(true);
        // Fails: recordIndexAhead's quote_ident(n.nspname) / format('%I.%I', n.nspname, $1), withSessionSettings'
        // unnest($1::text[]) and the build's `format('%I.%I', schema_name, name)` all run with search_path
        // public, … and resolve to the planted functions, which run as the migrating role.
        expect(await plantedRan(client)).toEqual([]);
    });

    it("gets nothing run by a rollback (the data guard's dependents query and rollback.sql)", async () => {
        await applyMigrations(client, program, { variant: "jsonb" });
        const result = await rollbackSchema(client, { rollbackSql: loadRollbackSql(), allowDataLoss: true, defaults: DEFAULT_OPTIONS });
        expect(result.rolledBack).toBe(true);
        expect((await client.query("select to_regclass('public.attack7_notes') is null as gone")).rows[0].gone).toBe(true);
        // Fails: the rollback's transaction runs with search_path public, …: dependents.ts's
        // format('%I.%I', r.schema, r.name) and rollback.sql's format('%I.%I', c.schema_name, c.name) on text
        // columns resolve to the planted public.format(text, text, text).
        expect(await plantedRan(client)).toEqual([]);
    });
});

describe("the caller's search_path, set by `alter database … set search_path`, odd characters included", () => {
    it("is the connection's again after an apply that applied something and after one that failed", async () => {
        await client.query(`create schema "we'ird ""x"" $y"`);
        await client.query(`alter database "${db.name}" set search_path = "we'ird ""x"" $y", "$user", public`);
        const caller = await db.connect();
        const before = (await caller.query<{ search_path: string }>("show search_path")).rows[0].search_path;
        expect(before).toBe(`"we'ird ""x"" $y", "$user", public`);
        const ok = migration("0003_attack7_path.sql", "create table public.attack7_path (id int);\n");
        await applyMigrations(caller, [...program, ok], { variant: "jsonb" });
        expect((await caller.query<{ search_path: string }>("show search_path")).rows[0].search_path).toBe(before);
        const failing = migration("0004_attack7_fails.sql", "select 1 / 0;\n");
        await expect(applyMigrations(caller, [...program, ok, failing], { variant: "jsonb" })).rejects.toThrow(/division by zero/);
        expect((await caller.query<{ search_path: string }>("show search_path")).rows[0].search_path).toBe(before);
    });
});

describe("an apply that waits for the migration lock, which any role can take (advisory locks need no privilege)", () => {
    it("runs nothing the role planted while it names the holder", async () => {
        // holders() (lock.ts) runs on the migrating connection before the lock is held, so with the caller's
        // search_path: its `extract(epoch from …) * 1000` (numeric * integer) prefers an exact public.*(numeric, integer).
        await planter.query(`
            create sequence public.attack7_seen_times;
            grant usage, update, select on sequence public.attack7_seen_times to public;
            create function public.attack7_times(numeric, integer) returns numeric language plpgsql as $$
            begin
                perform pg_catalog.setval('public.attack7_seen_times', 1);
                return $1 operator(pg_catalog.*) $2::numeric;
            end
            $$;
            create operator public.* (leftarg = numeric, rightarg = integer, function = public.attack7_times);`);
        await planter.query("select pg_advisory_lock($1::bigint)", [MIGRATION_LOCK_KEY]);
        try {
            const error = await applyMigrations(client, program, { variant: "jsonb", locks: { deadlineSeconds: 1 } }).catch(
                (e: unknown) => e,
            );
            expect(error).toBeInstanceOf(MigrationLockTimeoutError);
            expect((error as Error).message).toContain(`pid ${(planter as Client & { processID: number }).processID}`);
        } finally {
            await planter.query("select pg_advisory_unlock($1::bigint)", [MIGRATION_LOCK_KEY]);
        }
        // Fails: the owner ran the planted operator, once per report of who holds the lock.
        expect((await client.query("select is_called from public.attack7_seen_times")).rows[0].is_called).toBe(false);
    });
});
