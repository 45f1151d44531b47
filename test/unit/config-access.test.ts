import { describe, expect, it } from "vitest";
import { parseConfig } from "../../engine/config/config";
import { configErrorFor } from "../support/config-errors";

const external = { provisioner: "external", databaseUrl: "postgresql://postgres:secret-pw@db.example.com:5432/memory" };

describe("createDatabase", () => {
    it("is off by default, in both modes", () => {
        expect(parseConfig({}).createDatabase).toBe(false);
        expect(parseConfig(external).createDatabase).toBe(false);
    });

    it("can be turned on for an external server", () => {
        expect(parseConfig({ ...external, createDatabase: "true" }).createDatabase).toBe(true);
    });

    it("is refused in docker mode, where the container creates its database", () => {
        const error = configErrorFor({ createDatabase: "true" });
        expect(error.key).toBe("createDatabase");
        expect(error.message).toMatch(/only used with provisioner: external/);
    });

    it("is refused when databaseUrl names the maintenance database", () => {
        const error = configErrorFor({
            ...external,
            databaseUrl: "postgresql://postgres:secret-pw@db.example.com/postgres",
            createDatabase: "true",
        });
        expect(error.key).toBe("createDatabase");
        expect(error.message).toMatch(/maintenance database postgres/);
    });

    it("accepts false in docker mode and refuses a value that is not a boolean", () => {
        expect(parseConfig({ createDatabase: "false" }).createDatabase).toBe(false);
        expect(configErrorFor({ ...external, createDatabase: "yes" }).message).toMatch(/must be true or false/);
    });
});

describe("the Supabase roles", () => {
    it("are taken as they are with createRoles false", () => {
        const config = parseConfig({ ...external, appRole: "authenticated", adminRole: "service_role", createRoles: "false" });
        expect(config).toMatchObject({ appRole: "authenticated", adminRole: "service_role", createRoles: false });
    });
});

describe("createRoles false", () => {
    it("refuses the docker pooler, which would drop the startup option that makes each login its role", () => {
        const error = configErrorFor({ createRoles: "false" });
        expect(error.key).toBe("createRoles");
        expect(error.message).toMatch(/PgBouncer drops/);
        expect(parseConfig({ createRoles: "false", pooling: JSON.stringify({ enabled: false }) }).createRoles).toBe(false);
    });

    it("refuses a role name too long to add _login to", () => {
        const error = configErrorFor({ ...external, createRoles: "false", appRole: "a".repeat(58) });
        expect(error.key).toBe("appRole");
        expect(error.message).toMatch(/at most 57 characters/);
    });
});

describe("a role name PostgreSQL reserves", () => {
    // Refused at preview, not by the first CREATE ROLE or policy at up: public stands for every role, and
    // PostgreSQL keeps names starting with pg_ for its own roles.
    it.each([
        ["appRole", "public"],
        ["adminRole", "public"],
        ["appRole", "pg_read_all_data"],
        ["adminRole", "pg_monitor"],
    ])("refuses %s %s", (key, name) => {
        const error = configErrorFor({ [key]: name });
        expect(error.key).toBe(key);
        expect(error.message).toMatch(/is a name PostgreSQL reserves/);
    });
});

describe("plainClaimLogins", () => {
    const supabase = { ...external, appRole: "authenticated", adminRole: "service_role", createRoles: "false" };

    it("is empty by default and takes a list of login roles", () => {
        expect(parseConfig({}).plainClaimLogins).toEqual([]);
        expect(parseConfig({ ...supabase, plainClaimLogins: '["authenticator"]' }).plainClaimLogins).toEqual(["authenticator"]);
    });

    it("refuses what is not a list of identifiers", () => {
        for (const value of ["authenticator", '"authenticator"', '["Authenticator"]', "[1]"]) {
            expect(configErrorFor({ plainClaimLogins: value }).key).toBe("plainClaimLogins");
        }
    });

    it.each([
        ["the app role", {}, "memory_app"],
        ["the admin role", {}, "memory_admin"],
        ["the app role's login", supabase, "authenticated_login"],
        ["the app role where it has a login of its own", supabase, "authenticated"],
    ])("refuses %s, whose sessions serve the stack's own connection strings", (_, raw, login) => {
        const error = configErrorFor({ ...raw, plainClaimLogins: JSON.stringify([login]) });
        expect(error.key).toBe("plainClaimLogins");
        expect(error.message).toContain(`must not name ${login}`);
    });

    // GRANT … TO public grants every role, so every session would count a plain claim, the app role's too: a
    // claim one client leaves at session level would count for the next client of the same pooled connection.
    it.each([{}, supabase])("refuses public, which stands for every role", (raw) => {
        const error = configErrorFor({ ...raw, plainClaimLogins: '["authenticator", "public"]' });
        expect(error.key).toBe("plainClaimLogins");
        expect(error.message).toMatch(/must not name public, which stands for every role/);
    });
});
