// Databases migrated by releases 1 and 2, which recorded only the shared objects they created and
// adopted same-named application objects silently. The adoption rule (engine/migrate/legacy.ts)
// records as the stack's only what a file the ledger lists creates and what still matches it; so a
// rollback removes the memory schema and keeps an application table that those releases took over.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Client } from "pg";
import { readRecords } from "../../engine/migrate/index";
import { migrationsFor } from "../support/apply-sql";
import { cli } from "../support/cli";
import { remainingMemoryObjects } from "../support/memory-objects";
import { inRelease2, migrateLikeRelease2 } from "../support/release2";
import { schemaDatabase, type SchemaDatabase } from "../support/schema-db";
import { createApplicationTables, fingerprint } from "../support/seed-application";

describe("a release 2 stack beside the seed's application", () => {
    let s: SchemaDatabase;
    let c: Client;
    let env: NodeJS.ProcessEnv;
    let applicationRows: Record<string, string>;

    beforeAll(async () => {
        s = await schemaDatabase("legacy_full", { rls: true }, false);
        c = s.client;
        env = { DATABASE_URL: s.db.url };
        await createApplicationTables(c);
        applicationRows = await fingerprint(c);
        const migrations = migrationsFor(s.options);
        expect(await migrateLikeRelease2(c, migrations)).toEqual(migrations.filter(inRelease2).map((m) => m.name));
        await c.query("insert into sessions (session_id, user_id, agent_name) select 'legacy-' || email, id, 'sales' from users");
    });
    afterAll(async () => s?.drop());

    it("is planned with no flag (its options read from the ledger and the policies), recording nothing", async () => {
        const plan = await cli(["plan"], env);
        expect(plan.code, plan.stdout + plan.stderr).toBe(0);
        expect(plan.stdout).toContain("to apply:\n  0011_claim_binding.sql");
        expect((await c.query("select to_regclass('memory_stack.created_objects') as records")).rows[0].records).toBeNull();
    });

    it("is rolled back whole once data loss is allowed, and the application keeps every row", async () => {
        const refused = await cli(["rollback"], env);
        expect(refused.code).toBe(1);
        expect(refused.stderr).toContain("10 rows would be lost (sessions: 10)");
        expect((await c.query("select to_regclass('memory_stack.created_objects') as records")).rows[0].records).toBeNull();

        const allowed = await cli(["rollback", "--allow-data-loss"], env);

        expect(allowed.code, allowed.stderr).toBe(0);
        expect(await remainingMemoryObjects(c, s.options)).toEqual([]);
        expect(await fingerprint(c)).toEqual(applicationRows);
    });
});

describe("a release 2 stack that took over an application's sessions table", () => {
    let s: SchemaDatabase;
    let c: Client;
    let env: NodeJS.ProcessEnv;
    const sessionsRows = async () => (await c.query("select id, title from sessions order by title")).rows;
    let before: unknown[];

    beforeAll(async () => {
        s = await schemaDatabase("legacy_adopted", { rls: true }, false);
        c = s.client;
        env = { DATABASE_URL: s.db.url };
        await c.query(`create table public.sessions (id uuid primary key default gen_random_uuid(), title text not null);
            insert into public.sessions (title) values ('kickoff'), ('retro')`);
        before = await sessionsRows();
        // 0003 skipped the existing sessions (create table if not exists) and hung its foreign keys on it; 0004 then failed.
        expect(await migrateLikeRelease2(c, migrationsFor(s.options))).toEqual([
            "0001_foundation.sql",
            "0002_users.sql",
            "0003_tables.sql",
        ]);
    });
    afterAll(async () => s?.drop());

    it("is planned as a conflict: that sessions is not the stack's", async () => {
        const plan = await cli(["plan"], env);
        expect(plan.code).toBe(1);
        expect(plan.stdout).toContain(
            "- table public.sessions (2 rows): exists and is not the stack's, and the memory schema creates a table of that name.",
        );
    });

    it("keeps that table, with its rows, through rollback --allow-data-loss, and removes what the stack did create", async () => {
        const rollback = await cli(["rollback", "--allow-data-loss"], env);

        expect(rollback.code, rollback.stderr).toBe(0);
        expect(await sessionsRows()).toEqual(before);
        const left = await c.query(
            "select string_agg(relname, ',' order by relname) as tables from pg_class where relnamespace = 'public'::regnamespace and relkind = 'r'",
        );
        expect(left.rows[0].tables).toBe("sessions");
        expect(
            (await c.query("select count(*)::int as n from pg_constraint where confrelid = 'public.sessions'::regclass")).rows[0].n,
        ).toBe(0);
    });
});

describe("the adoption rule", () => {
    it("records, on the first apply, what release 2 created, each with the migration whose file creates it", async () => {
        const s = await schemaDatabase("legacy_records", { rls: true }, false);
        try {
            const migrations = migrationsFor(s.options);
            await migrateLikeRelease2(s.client, migrations);
            const apply = await cli(["apply"], { DATABASE_URL: s.db.url });
            expect(apply.code, apply.stderr).toBe(0);
            const creator = new Map(
                (await readRecords(s.client)).map((record) => [record.identity, `${record.migration}${record.adopted ? " adopted" : ""}`]),
            );
            expect(creator.get("table public.sessions")).toBe("0003_tables.sql adopted");
            expect(creator.get("index public.sessions_pkey")).toBe("0003_tables.sql adopted");
            expect(creator.get("index public.idx_sessions_status")).toBe("0004_indexes.sql adopted");
            expect(creator.get("function public.close_session(uuid,text)")).toBe("0005_functions_triggers.sql adopted");
            expect(creator.get("trigger public.sessions.update_sessions_updated_at")).toBe("0005_functions_triggers.sql adopted");
            expect(creator.get("view public.user_session_stats")).toBe("0006_views.sql adopted");
            expect(creator.get("policy public.sessions.sessions_own_rows")).toBe("0009_rls.sql adopted");
            expect(creator.get("table public.users")).toBe("0002_users.sql adopted");
            expect(creator.get("function auth.uid()")).toBe("0009_rls.sql adopted");
            expect(creator.get(`role ${s.options.appRole}`)).toBe("0009_rls.sql adopted");
            expect(creator.get(`extension "uuid-ossp"`)).toBe("0001_foundation.sql adopted");
            const ledger = await s.client.query("select bool_and(recorded) as recorded from memory_stack.migrations");
            expect(ledger.rows[0].recorded).toBe(true);
            // With the oid each has now (columns have none), so a name the application takes over later is told apart.
            const records = await readRecords(s.client);
            expect(records.filter((record) => record.kind !== "column" && (record.oid === null || record.origin === null))).toEqual([]);
            const sessions = await s.client.query<{ oid: number }>("select 'public.sessions'::regclass::oid::int as oid");
            expect(records.find((record) => record.identity === "table public.sessions")?.oid).toBe(sessions.rows[0].oid);
        } finally {
            await s.drop();
        }
    });
});
