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
