// attack7: a database migrated by release 1 or 2 has its objects adopted (legacy.ts) inside the first migration
// transaction of an apply, or the rollback's, where the engine's search_path puts public first. The adoption
// rule's own query runs quote_ident(n.nspname) there: a public.quote_ident(name) that a role able to create in
// public planted beats pg_catalog.quote_ident(text) and runs with the migrating role's rights (e87c20c's claim
// covers apply and rollback; its test covers only databases whose ownership is recorded already).
import type { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { migrationsFor } from "../support/apply-sql";
import { cli } from "../support/cli";
import { inRelease2, migrateLikeRelease2 } from "../support/release2";
import { schemaDatabase, type SchemaDatabase } from "../support/schema-db";
import { plantingSession } from "../support/planted";

const PASSWORD = "attack7-legacy-app-password";
let s: SchemaDatabase;
let app: Client;

beforeAll(async () => {
    s = await schemaDatabase("attack7_legacy", { rls: true }, false);
    const migrations = migrationsFor(s.options);
    expect(await migrateLikeRelease2(s.client, migrations)).toEqual(migrations.filter(inRelease2).map((m) => m.name));
    app = await plantingSession(s.client, s.db.config, s.options.appRole, PASSWORD, false);
    await app.query(`
        create sequence public.attack7_seen_quote_ident;
        grant usage, update, select on sequence public.attack7_seen_quote_ident to public;
        create function public.quote_ident(name) returns text language plpgsql as $$
        begin
            perform pg_catalog.setval('public.attack7_seen_quote_ident', 1);
            return pg_catalog.quote_ident($1::text);
        end
        $$;`);
});

afterAll(async () => {
    await app?.end().catch(() => undefined);
    await s?.drop();
});

describe("a release 2 database with a public.quote_ident(name) planted by its app role", () => {
    it("gets nothing of the role's run by `memory-stack rollback`, which adopts what release 2 created first", async () => {
        const run = await cli(["rollback", "--allow-data-loss", "--app-role", s.options.appRole, "--admin-role", s.options.adminRole], {
            DATABASE_URL: s.db.url,
        });
        expect(run.code, run.stderr).toBe(0);
        // Fails: legacy.ts currentComments' `quote_ident(n.nspname)` (and FUNCTION_ARGUMENTS' quote_ident(t.typname)), in the
        // rollback's transaction on the engine's public-first search_path, ran the planted function as the owner.
        expect((await s.client.query("select is_called from public.attack7_seen_quote_ident")).rows[0].is_called).toBe(false);
    });
});
