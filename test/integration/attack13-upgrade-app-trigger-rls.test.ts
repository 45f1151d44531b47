// An application that audits the memory tables: a trigger of its own on goal_assessments writes each change to its
// own table, app_audit, which has row level security (policies let any role insert). The deployer is a managed
// server's owner: no superuser, no BYPASSRLS, not app_audit's owner. The upgrade's backfill (0014_similarity_jsonb_fast.sql
// updates every goal written before 0013) fires the trigger, and the policy lets its insert through: the application's
// tables keep their policies during a migration, as for any other role. (With row_security off in every engine
// transaction, as one merge had it, PostgreSQL refused the trigger's insert and the upgrade failed on a table the stack
// never touches; the preflight's check of the memory tables alone guards the backfill now.)
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_SCHEMA_OPTIONS } from "../../engine/config/schema-options";
import { applyMigrations } from "../../engine/migrate/index";
import { loadMigrationSources, renderMigrations } from "../../engine/migrate/render";
import { cli } from "../support/cli";
import { dropRoles, freshDatabase, sharedServer, type TestDatabase } from "../support/database";
import { managedOwner } from "../support/managed-owner";

let db: TestDatabase;
let owner: string;
let appOwner: string;
let roles: string[];
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
    db = await freshDatabase("attack13_app_trigger");
    const deployer = await managedOwner(db);
    ({ name: owner, env } = deployer);
    appOwner = `${db.name}_appowner`;
    roles = [`${db.name}_app`, `${db.name}_admin`];
    const admin = await db.connect();
    await admin.query(`create role ${appOwner} nologin; grant create on schema public to ${appOwner}`);
    const asOwner = await deployer.connect();
    const options = { ...DEFAULT_SCHEMA_OPTIONS, appRole: roles[0], adminRole: roles[1] };
    const migrations = renderMigrations(loadMigrationSources(), options);
    const before = migrations.findIndex((migration) => migration.name.startsWith("0013_"));
    await applyMigrations(asOwner, migrations.slice(0, before), { variant: "jsonb", schema: options, grantRoles: true });
    const vector = JSON.stringify(Array.from({ length: 1536 }, (_, i) => Math.sin(i + 1)));
    await asOwner.query(`insert into users (id, email) values ('00000000-0000-4000-8000-000000000001', 'a@example.com');
        insert into goal_assessments (user_id, agent_name, goal_text, goal_vector)
        select '00000000-0000-4000-8000-000000000001', 'planner', 'goal ' || i, '${vector}'::jsonb from generate_series(1, 3) i`);
    // The application's audit table and trigger, as its own owner made them.
    await admin.query(`set role ${appOwner};
        create table public.app_audit (at timestamptz not null default now(), tbl text not null, op text not null);
        alter table public.app_audit enable row level security;
        create policy app_audit_insert on public.app_audit for insert with check (true);
        grant insert on public.app_audit to public;
        reset role;
        create function public.app_audit_row() returns trigger language plpgsql as $$
        begin insert into public.app_audit (tbl, op) values (tg_table_name, tg_op); return new; end $$;
        create trigger app_audit_goals after update on public.goal_assessments for each row execute function public.app_audit_row()`);
});

afterAll(async () => {
    await db?.drop();
    await dropRoles(sharedServer(), [...(roles ?? []), ...(owner ? [owner, appOwner] : [])]);
});

describe("an upgrade beside an application's audit trigger on a memory table", () => {
    it("applies, as it did before row_security off", async () => {
        const apply = await cli(["apply"], env);

        expect(apply.code, apply.stderr).toBe(0);
    });
});
