// BUG on b2b6cb7: the migrations' data steps run as the deploying role, and row level security applies to
// a table's owner under FORCE ROW LEVEL SECURITY. A deployer that is not a superuser and has no BYPASSRLS
// (the owner role of a managed server) sees no row of a forced memory table, so 0014's backfill of the
// derived embedding columns "finished" having derived none of the goals written before 0013, and the
// apply reported success. What a user loses: every goal written before the upgrade is missing from
// match_goals — fast and exact alike — silently. (The switch to vector backfills and then drops the jsonb
// embeddings the same way: there the embeddings themselves would go.) The preflight refuses such an apply
// before any change, naming the table and what to do.
import { afterAll, describe, expect, it } from "vitest";
import { cli } from "../support/cli";
import { dropRoles, sharedServer, type TestDatabase } from "../support/database";
import { releaseBeforeDerived } from "../support/managed-owner";

const databases: TestDatabase[] = [];
const roles: string[] = [];

afterAll(async () => {
    await Promise.all(databases.map((db) => db.drop()));
    await dropRoles(sharedServer(), roles);
});

describe("an upgrade by a deployer that row level security applies to", () => {
    it("refuses to backfill what the policies hide from it, then derives every row once they no longer do", async () => {
        // A database of the release before 0013, with goals in it.
        const release = await releaseBeforeDerived("a12_upgrade_forced_rls");
        const { db, asOwner } = release;
        const { env } = release.owner;
        databases.push(db);
        roles.push(...release.roles);
        const admin = await db.connect();
        await asOwner.query(`insert into users (email) values ('ada@example.com');
            insert into goal_assessments (user_id, agent_name, goal_text, goal_vector) select id, 'planner', 'ship it', '[0.1, 0.2, 0.3]'::jsonb from users;
            alter table goal_assessments force row level security`);
        const matches = async () =>
            (await admin.query<{ n: number }>("select count(*)::int as n from match_goals('[0.1, 0.2, 0.3]'::jsonb, 10, null)")).rows[0].n;

        const upgrade = await cli(["apply"], env);

        expect(upgrade.code, upgrade.stdout + upgrade.stderr).toBe(1);
        expect(upgrade.stderr).toContain("table public.goal_assessments: row level security applies to");
        await asOwner.query("alter table goal_assessments no force row level security");
        const again = await cli(["apply"], env);
        expect(again.code, again.stderr).toBe(0);
        expect(await matches()).toBe(1);
    });
});
