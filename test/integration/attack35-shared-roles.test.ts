// BUG on 6b0c820: two stacks on one server, the second applied with role names the first uses (the same ones, or crossed:
// staging's app role as prod's admin role). Roles are the server's, so a login that becomes staging's app role then read
// every row of prod (as its admin role), and apply said nothing. It applies still (sharing can be meant), and says which
// other database uses the roles and what that gives a login there.
import { describe, expect, it } from "vitest";
import { cli } from "../support/cli";
import { cliDatabases } from "../support/cli-database";

const cliDatabase = cliDatabases();

describe("applying with roles another database of the server uses", () => {
    it("says which database shares them and what a login there reaches; a database with roles of its own hears nothing", async () => {
        const staging = await cliDatabase("a35_shared_staging");
        const prod = await cliDatabase("a35_shared_prod");
        const first = await cli(["apply", ...staging.roleFlags], staging.env);
        expect(first.code, first.stderr).toBe(0);
        expect(first.stderr).not.toContain("are the server's roles");

        const crossed = ["--app-role", staging.adminRole, "--admin-role", staging.appRole];
        const second = await cli(["apply", ...crossed], prod.env);
        expect(second.code, second.stderr).toBe(0);
        expect(second.stderr).toContain(
            `${staging.adminRole} and ${staging.appRole} are the server's roles, not this database's: database ${staging.db.name} uses them too`,
        );
        expect(second.stderr).toContain("as the admin role, every row");

        const rollback = await cli(["rollback"], prod.env);
        expect(rollback.code, rollback.stderr).toBe(0);
        const json = await cli(["apply", "--json", ...crossed], prod.env);
        expect(json.code, json.stderr).toBe(0);
        expect(JSON.parse(json.stdout)).toMatchObject({ rolesAlsoUsedBy: [staging.db.name] });
    });
});
