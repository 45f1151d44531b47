// BUG on be2433e: the preflight refuses an app role that may become (set role) the connecting role, "which owns the
// memory tables", but the memory tables' owner need not be the connecting role: a deployer that owns them through
// membership (a login in the team's owner group, the tables owned by the group) is a legitimate setup, and an app role
// that is a member of that group passed the preflight. The group owns the tables and row level security is not forced
// on it: `set role <group>` and the app role sees every user's rows. What a user loses: tenant isolation, with the apply
// reporting success (only a later verify names the membership; a pipeline that applies without verifying serves every
// tenant's memories to every request).
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

describe("an upgrade by a deployer that owns the memory tables through a group", () => {
    it("refuses an app role that is a member of the group before any change, naming the role and the group", async () => {
        const release = await releaseBeforeDerived("a14_app_owner_group");
        const { db, options, asOwner: asDeployer } = release;
        const { name: deployer, env } = release.owner;
        databases.push(db);
        roles.push(...release.roles);
        const group = `${db.name}_owners`;
        roles.push(group);
        const admin = await db.connect();
        // The memory tables (and the rest the deployer made) go to the group, the deployer a member of it; then the app role
        // is made a member of the group too.
        await admin.query(`create role ${group} nologin; grant ${group} to ${deployer}; reassign owned by ${deployer} to ${group};
            grant ${group} to ${options.appRole}`);
        const owners = await admin.query<{ owner: string }>(
            "select distinct pg_get_userbyid(relowner) as owner from pg_class where oid = any(array['public.sessions', 'public.goal_assessments']::regclass[])",
        );
        expect(owners.rows).toEqual([{ owner: group }]);

        const upgrade = await cli(["apply", "--app-role", options.appRole, "--admin-role", options.adminRole], env);

        expect(upgrade.code, upgrade.stdout + upgrade.stderr).toBe(1);
        expect(upgrade.stderr).toContain("nothing was changed");
        expect(upgrade.stderr).toContain(`role ${options.appRole} (appRole)`);
        expect(upgrade.stderr).toContain(`is a member of ${group}`);
        await Promise.all([admin.end(), asDeployer.end()]);
    });

    it("applies when the deployer owns the memory tables through the group and the app role is no member of it", async () => {
        const release = await releaseBeforeDerived("a14_owner_group_ok");
        const { db, options, asOwner: asDeployer } = release;
        const { name: deployer, env } = release.owner;
        databases.push(db);
        roles.push(...release.roles);
        const group = `${db.name}_owners`;
        roles.push(group);
        const admin = await db.connect();
        await asDeployer.query(`insert into users (email) values ('ada@example.com');
            insert into goal_assessments (user_id, agent_name, goal_text, goal_vector) select id, 'planner', 'ship it', '[0.1, 0.2, 0.3]'::jsonb from users`);
        await admin.query(`create role ${group} nologin; grant ${group} to ${deployer}; reassign owned by ${deployer} to ${group}`);

        const upgrade = await cli(["apply", "--app-role", options.appRole, "--admin-role", options.adminRole], env);

        expect(upgrade.code, upgrade.stdout + upgrade.stderr).toBe(0);
        const left = await admin.query<{ n: number }>(
            "select count(*)::int as n from goal_assessments where goal_vector is not null and goal_vector_signs is null",
        );
        expect(left.rows[0].n).toBe(0);
        await Promise.all([admin.end(), asDeployer.end()]);
    });
});

describe("an upgrade where the app role owns a memory table", () => {
    // The owner of a table is not restricted by its row level security (unless forced): an app role that owns
    // goal_assessments reads every user's goals.
    it("refuses before any change, naming the role and what it owns", async () => {
        const release = await releaseBeforeDerived("a14_app_owns");
        const { db, options, asOwner: asDeployer } = release;
        const { env } = release.owner;
        databases.push(db);
        roles.push(...release.roles);
        const admin = await db.connect();
        await admin.query(`alter table public.goal_assessments owner to ${options.appRole}`);

        const upgrade = await cli(["apply", "--app-role", options.appRole, "--admin-role", options.adminRole], env);

        expect(upgrade.code, upgrade.stdout + upgrade.stderr).toBe(1);
        expect(upgrade.stderr).toContain("nothing was changed");
        expect(upgrade.stderr).toContain(`role ${options.appRole} (appRole): owns memory tables`);
        await Promise.all([admin.end(), asDeployer.end()]);
    });
});
