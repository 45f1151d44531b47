// attack9: every CLI command first reads which options the database was migrated with (options.ts), before the migration
// lock, on the caller's search_path. For a release 2 ledger (no options recorded) with 0009_rls.sql applied, that read asks
// the policies on public.sessions for the roles: `p.polrelid = to_regclass('public.sessions')` compares an oid with a
// regclass, and an exact public.=(oid, regclass) planted by a role able to create in public wins over pg_catalog's
// =(oid, oid), running as the caller on `memory-stack status`.
import type { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { migrationsFor } from "../support/apply-sql";
import { cli } from "../support/cli";
import { inRelease2, migrateLikeRelease2 } from "../support/release2";
import { plantedEqualsRan, plantingSession, plantOidRegclassEquals } from "../support/planted";
import { schemaDatabase, type SchemaDatabase } from "../support/schema-db";

const PASSWORD = "attack9-legacy-app-password";
let s: SchemaDatabase;
let app: Client;

beforeAll(async () => {
    s = await schemaDatabase("attack9_legacy", { rls: true }, false);
    const migrations = migrationsFor(s.options);
    expect(await migrateLikeRelease2(s.client, migrations)).toEqual(migrations.filter(inRelease2).map((m) => m.name));
    app = await plantingSession(s.client, s.db.config, s.options.appRole, PASSWORD, false);
    await plantOidRegclassEquals(app);
});

afterAll(async () => {
    await app?.end().catch(() => undefined);
    await s?.drop();
});

describe("a release 2 database with RLS and a public.=(oid, regclass) planted by its app role", () => {
    it("gets nothing of the role's run by `memory-stack status`", async () => {
        const run = await cli(["status"], { DATABASE_URL: s.db.url });
        expect(run.stderr).toContain("memory-stack status:");
        // Fails: options.ts's read of the sessions policies' roles ran the planted operator as the owner.
        expect(await plantedEqualsRan(s.client)).toBe(false);
    });
});
