// Object squatting: an app role that may create objects in schema public (PUBLIC keeps CREATE there on
// every database that began before PostgreSQL 15, and operators grant it by hand) plants an operator
// or a function that a better argument match makes PostgreSQL prefer to pg_catalog's. Verification
// connects as the owner, often a superuser, on every `pulumi up` and `memory-stack verify`: whatever
// it resolves through public runs with the owner's rights (a superuser's can run shell commands with
// `copy … to program`, which no rollback undoes). This file proves that verification resolves
// nothing through schema public, and that it names the role's CREATE as a problem.
import type { Client } from "pg";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { applyMigrations, describeVariant, readRecords } from "../../engine/migrate/index";
import { migration } from "../support/migrations";
import { verifySchema, type VerificationReport } from "../../engine/verify/index";
import { expectationsFor } from "../../engine/verify/expected";
import { migrationsFor } from "../support/apply-sql";
import { cli } from "../support/cli";
import { grantStackPrivileges, schemaDatabase, type SchemaDatabase } from "../support/schema-db";

const PASSWORD = "verify-squatting-password-0123";
let schema: SchemaDatabase;
let app: Client;

beforeAll(async () => {
    schema = await schemaDatabase("verify_squatting");
    await grantStackPrivileges(schema.client, schema.options);
    await schema.client.query(`alter role "${schema.options.appRole}" login password '${PASSWORD}'`);
    app = new (await import("pg")).Client({ ...schema.db.config, user: schema.options.appRole, password: PASSWORD });
    await app.connect();
});

afterAll(async () => {
    await app?.end().catch(() => undefined);
    await schema?.drop();
});

async function verify(): Promise<VerificationReport> {
    return verifySchema(schema.client, await expectationsFor(schema.options, migrationsFor(schema.options)));
}

/** Who ran the planted code: a sequence, which no rollback (verification's included) rewinds. */
async function plantedRan(): Promise<boolean> {
    const { rows } = await schema.client.query<{ called: boolean }>("select is_called as called from public.squat_seen");
    return rows[0].called;
}

describe("an app role that can create objects in schema public", () => {
    beforeAll(async () => {
        // What an upgraded database has: PUBLIC's CREATE on public.
        await schema.client.query("grant create on schema public to public");
        // The app role's plant. Verification's `'memory-stack-verify-' || gen_random_uuid()` (unknown || uuid)
        // prefers an exact text || uuid over pg_catalog's text || anynonarray.
        await app.query(`
            create sequence public.squat_seen;
            grant usage, update, select on sequence public.squat_seen to public;
            create function public.squat_concat(text, uuid) returns text language plpgsql as $$
            begin
                perform setval('public.squat_seen', 1);
                return $1 || $2::text;
            end
            $$;
            create operator public.|| (leftarg = text, rightarg = uuid, function = public.squat_concat);
            create function public.has_schema_privilege(oid, regnamespace, text) returns boolean language plpgsql as $$
            begin
                perform setval('public.squat_seen', 1);
                return pg_catalog.has_schema_privilege($1, $2::oid, $3);
            end
            $$;
            -- The engine's own queries: format('%I.%I', name, name) prefers these to format(text, variadic "any").
            create function public.format(text, name, name) returns text language plpgsql as $$
            begin
                perform setval('public.squat_seen', 1);
                return pg_catalog.format($1, $2, $3);
            end
            $$;
            create function public.format(text, text, name) returns text language plpgsql as $$
            begin
                perform setval('public.squat_seen', 1);
                return pg_catalog.format($1, $2, $3);
            end
            $$;`);
    });
    beforeEach(async () => {
        await schema.client.query("select setval('public.squat_seen', 1, false)");
    });
    afterAll(async () => {
        await schema.client.query("revoke create on schema public from public");
    });

    it("gets none of its objects run by verification, which connects as the owner", async () => {
        await verify();
        // Before the fix the owner (a superuser here) ran the app role's operator: is_called = true.
        expect(await plantedRan()).toBe(false);
    });

    it.each([["apply"], ["status"], ["plan"], ["verify"]])(
        "gets none of its objects run by `memory-stack %s`, which connects as the owner",
        async (command) => {
            const { appRole, adminRole } = schema.options;
            const run = await cli([command, "--app-role", appRole, "--admin-role", adminRole], { DATABASE_URL: schema.db.url });
            expect(run.stderr).not.toMatch(/TypeError|ReferenceError/);
            // Before the fix `apply` with nothing to apply ran public.format(text, text, name) as the owner.
            expect(await plantedRan()).toBe(false);
        },
    );

    // The catalog snapshot (engine/migrate/snapshot.ts: apply with something pending, repair, rollback, the
    // vector switch) passes names of type name to quote_ident: with public on the path, public.quote_ident(name)
    // beat pg_catalog.quote_ident(text) and ran as the owner. The engine's own reads now resolve in pg_catalog
    // alone, outside a migration's transaction and inside it. The shipped migrations' own statements still run
    // with public first on the path (docs/schema-squatting.md).
    describe("a public.quote_ident(name) planted for the engine's catalog snapshot", () => {
        beforeEach(async () => {
            await app.query(`
                create function public.quote_ident(name) returns text language plpgsql as $$
                begin
                    perform setval('public.squat_seen', 1);
                    return pg_catalog.quote_ident($1::text);
                end
                $$`);
        });
        afterEach(async () => {
            await app.query("drop function public.quote_ident(name)");
        });

        it("is not run by `memory-stack apply --repair`, which reads the snapshot outside a transaction", async () => {
            const { appRole, adminRole } = schema.options;
            await cli(["apply", "--repair", "--app-role", appRole, "--admin-role", adminRole], { DATABASE_URL: schema.db.url });
            expect(await plantedRan()).toBe(false);
        });

        it("is not run by an apply with a migration pending, which reads it with the begin and after the file", async () => {
            const extra = migration("0099_squat_probe.sql", "create table public.squat_probe (id int);\n");
            await applyMigrations(schema.client, [...migrationsFor(schema.options), extra], {
                variant: describeVariant(schema.options),
                schema: schema.options,
            });
            expect(await plantedRan()).toBe(false);
            expect((await readRecords(schema.client)).map((record) => record.identity)).toContain("table public.squat_probe");
        });
    });

    it("is reported: CREATE on schema public lets it plant what the owner runs", async () => {
        const report = await verify();
        expect(report.ok).toBe(false);
        const problem = report.problems.find((p) => p.kind === "privilege" && p.name === schema.options.appRole);
        expect(problem?.issue).toMatch(/can create objects in schema public/);
        expect(problem?.issue).toMatch(/revoke create on schema "public" from public/);
    });
});

// Pinning verification's search_path must not break an application's own code that verification sets off:
// the test users it inserts fire the application's triggers on users, whose functions commonly call
// extension or application functions without a schema (uuid_generate_v4(), their own helpers).
describe("an application trigger on users that calls a function without naming its schema", () => {
    let own: SchemaDatabase;
    beforeAll(async () => {
        own = await schemaDatabase("verify_app_trigger");
        await grantStackPrivileges(own.client, own.options);
        await own.client.query(`
            create function public.app_label() returns text language sql as $$ select 'from the application' $$;
            create function public.app_users_touch() returns trigger language plpgsql as $$
            begin
                perform app_label();
                return new;
            end
            $$;
            create trigger app_users_touch before insert on public.users for each row execute function public.app_users_touch();`);
    });
    afterAll(async () => {
        await own?.drop();
    });

    it("still runs as it always has while verification inserts its test users", async () => {
        const report = await verifySchema(own.client, await expectationsFor(own.options, migrationsFor(own.options)));
        expect(report.problems).toEqual([]);
        expect(report.ok).toBe(true);
    });
});
