// Roles are the server's: two databases of one server deployed with the same roles share them. A rollback of
// one keeps the roles while the other uses them, and says which database that is; nothing in the database
// rolled back depends on them any more, so "other objects depend on them" alone sent the user looking there.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cli } from "../support/cli";
import { dropRoles, freshDatabase, sharedServer, withClient, type TestDatabase } from "../support/database";

let first: TestDatabase;
let second: TestDatabase;
let roles: string[];

beforeAll(async () => {
    first = await freshDatabase("roles_elsewhere_a");
    second = await freshDatabase("roles_elsewhere_b");
    roles = ["--app-role", `${first.name}_app`, "--admin-role", `${first.name}_admin`];
    for (const db of [first, second]) {
        const applied = await cli(["apply", ...roles], { DATABASE_URL: db.url });
        expect(applied.code, applied.stderr).toBe(0);
    }
});

afterAll(async () => {
    await first?.drop();
    await second?.drop();
    await dropRoles(sharedServer(), [`${first.name}_app`, `${first.name}_admin`]);
});

describe("rolling back one of two databases that share the stack's roles", () => {
    it("keeps the roles and names the database that still uses them; the other's rollback then drops them", async () => {
        const firstRollback = await cli(["rollback", "--json", ...roles], { DATABASE_URL: first.url });
        expect(firstRollback.code, firstRollback.stderr).toBe(0);
        const result = JSON.parse(firstRollback.stdout) as { kept: string[]; keptRolesUsedBy: string[] };
        expect(result.kept).toEqual(expect.arrayContaining([`role ${first.name}_app`, `role ${first.name}_admin`]));
        expect(result.keptRolesUsedBy).toEqual([second.name]);
        const text = await cli(["rollback", ...roles], { DATABASE_URL: first.url });
        expect(text.stdout).toContain(`(roles belong to the whole server: database ${second.name} still uses them`);

        const secondRollback = await cli(["rollback", "--json", ...roles], { DATABASE_URL: second.url });
        expect(secondRollback.code, secondRollback.stderr).toBe(0);
        expect(JSON.parse(secondRollback.stdout)).toMatchObject({ kept: [], keptRolesUsedBy: [] });
    });

    it("names a database one of the roles owns", async () => {
        const owned = await freshDatabase("roles_elsewhere_owned");
        const owner = { ...first.config, database: "postgres" };
        try {
            expect((await cli(["apply", ...roles], { DATABASE_URL: first.url })).code).toBe(0);
            await withClient(owner, (admin) => admin.query(`alter database "${owned.name}" owner to "${first.name}_app"`));
            const rollback = await cli(["rollback", "--json", ...roles], { DATABASE_URL: first.url });
            expect(rollback.code, rollback.stderr).toBe(0);
            const result = JSON.parse(rollback.stdout) as { kept: string[]; keptRolesUsedBy: string[] };
            expect(result.kept).toContain(`role ${first.name}_app`);
            expect(result.keptRolesUsedBy).toEqual([owned.name]);
        } finally {
            await owned.drop();
        }
    });
});
