// attack19: verification's new checks (column types, constraints, volatility, trigger firing, widening policies, the
// derived-embeddings count) on deployments that reached today's schema by an upgrade, not a fresh apply: the release
// before 0013 upgraded by a managed server's owner (no superuser) with embeddings to backfill, some of them unusable
// (an empty array, non-numbers, a nested array: 0003 accepts any json array), and the same with the app role's rows
// written under release 2's jsonb variant. Each must pass as deployed.
import { afterAll, describe, expect, it } from "vitest";
import { applyMigrations, describeVariant } from "../../engine/migrate/index";
import { describeProblem, verifySchema } from "../../engine/verify/index";
import { expectationsFor } from "../../engine/verify/expected";
import { DEFAULT_OPTIONS, migrationsFor } from "../support/apply-sql";
import { dropRoles, sharedServer, type TestDatabase } from "../support/database";
import { releaseBeforeDerived } from "../support/managed-owner";
import { migrateLikeRelease2 } from "../support/release2";
import { grantStackPrivileges, schemaDatabase } from "../support/schema-db";
import { seedEmbeddings } from "../support/switch-data";

const databases: TestDatabase[] = [];
const roles: string[] = [];

afterAll(async () => {
    await Promise.all(databases.map((db) => db.drop()));
    await dropRoles(sharedServer(), roles);
});

describe("the release before 0013, upgraded by a managed server's owner, with embeddings to derive", () => {
    it("passes verification, unusable embeddings included", async () => {
        const release = await releaseBeforeDerived("a19_upgrade");
        databases.push(release.db);
        roles.push(...release.roles);
        const { asOwner } = release;
        const options = { ...DEFAULT_OPTIONS, ...release.options };
        const [user] = await seedEmbeddings(asOwner, { users: 2, goalsPerUser: 5, beliefsPerUser: 5, dimensions: 4 });
        await asOwner.query(
            `insert into goal_assessments (user_id, agent_name, goal_text, goal_vector)
             values ($1, 'a', 'empty', '[]'), ($1, 'a', 'words', '["a", "b"]'), ($1, 'a', 'nested', '[[1, 2], [3, 4]]'), ($1, 'a', 'zero', '[0, 0]')`,
            [user.id],
        );
        await applyMigrations(asOwner, migrationsFor(options), { variant: describeVariant(options) });
        await grantStackPrivileges(asOwner, options);
        // PostgreSQL 15's CREATEROLE owner is no member of the roles it created: as attack11-verify-createrole grants.
        await asOwner.query(`grant "${options.appRole}", "${options.adminRole}" to current_user`);

        const report = await verifySchema(asOwner, await expectationsFor(options, migrationsFor(options)));

        expect(report.problems.map(describeProblem).join("\n")).toBe("");
        expect(report.skipped).toEqual([]);
        await asOwner.end();
    });
});

describe("a stack migrated the way release 2 did (its ledger, no ownership records), with embeddings, upgraded", () => {
    it("passes verification", async () => {
        const schema = await schemaDatabase("a19_release2", {}, false);
        try {
            const migrations = migrationsFor(schema.options);
            expect(await migrateLikeRelease2(schema.client, migrations)).toContain("0009_rls.sql");
            await seedEmbeddings(schema.client, { users: 2, goalsPerUser: 3, beliefsPerUser: 3, dimensions: 4 });
            await applyMigrations(schema.client, migrations, { variant: describeVariant(schema.options) });
            await grantStackPrivileges(schema.client, schema.options);

            const report = await verifySchema(schema.client, await expectationsFor(schema.options, migrations));

            expect(report.problems.map(describeProblem).join("\n")).toBe("");
            expect(report.skipped).toEqual([]);
        } finally {
            await schema.drop();
        }
    });
});
