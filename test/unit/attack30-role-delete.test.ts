// What `pulumi destroy` runs for the stack's roles. The postgresql provider deletes a role with REASSIGN OWNED BY,
// DROP OWNED BY, then DROP ROLE unless skipReassignOwned is set; DROP OWNED silently revokes what the application
// granted the role on its own objects (`grant select on app_notes to memory_app`: its login, a member, lost the table),
// where the README says such a role is kept and reported. Tried on PostgreSQL 15: plain DROP ROLE refuses with "role
// memory_app cannot be dropped because some objects depend on it / privileges for table app_notes", and after a
// rollback with nothing of the application's left it succeeds (the stack's grants are revoked and its schema is gone).
// Every role the stack creates, in docker and external mode, with and without createRoles, is deleted without them.
import { beforeAll, describe, expect, it } from "vitest";
import { installMocks, resolve, runStack } from "../support/program";

const ROLE = "postgresql:index/role:Role";

beforeAll(() => {
    installMocks("dev");
});

describe("the stack's roles on pulumi destroy", () => {
    it("are dropped with DROP ROLE alone, never REASSIGN OWNED and DROP OWNED", async () => {
        const external = "postgresql://owner:managed-secret-1@pg.example.com:5432/memory?sslmode=require";
        for (const [name, raw] of [
            ["attack30-docker", {}],
            ["attack30-external", { provisioner: "external", databaseUrl: external }],
            ["attack30-logins", { provisioner: "external", databaseUrl: external, createRoles: "false" }],
        ] as const) {
            const run = await runStack(raw, name);
            const roles = run.all(ROLE);
            expect(roles, name).toHaveLength(2);
            for (const role of roles) {
                expect(await resolve(role.props.skipReassignOwned as boolean), `${name} ${role.name}`).toBe(true);
                expect(role.props.skipDropRole, `${name} ${role.name}`).toBeUndefined();
            }
        }
    });
});
