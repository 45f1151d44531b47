// A password or databaseUrl set without `pulumi config set --secret` sits in plaintext in Pulumi.<stack>.yaml:
// readConfig (the program's one read of the config) warns, naming the key and the command that fixes it, and says
// nothing when Pulumi holds the value as a secret. Under mocks there is no engine: Pulumi's log goes to console.warn.
import * as pulumi from "@pulumi/pulumi";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { readConfig } from "../../components/read-config";
import { installMocks } from "../support/program";

const URL = "postgresql://owner:Plain-Text-Secret-1@db.example.com:5432/app?sslmode=require";

beforeAll(() => {
    installMocks("staging");
});

afterEach(() => {
    vi.restoreAllMocks();
    pulumi.runtime.setAllConfig({});
});

function warningsFor(config: Record<string, string>, secretKeys: string[]): string[] {
    const warn = vi.spyOn(console, "warn").mockImplementation(() => undefined);
    pulumi.runtime.setAllConfig(config, secretKeys);
    readConfig();
    return warn.mock.calls.map((call) => String(call[0]));
}

describe("readConfig and secrets stored in plaintext", () => {
    it("warns for a databaseUrl set without --secret, without quoting it", () => {
        const warnings = warningsFor({ "memory-stack:provisioner": "external", "memory-stack:databaseUrl": URL }, []);
        expect(warnings).toHaveLength(1);
        expect(warnings[0]).toContain("memory-stack:databaseUrl is stored in plaintext in Pulumi.staging.yaml");
        expect(warnings[0]).toContain("pulumi config set --secret memory-stack:databaseUrl");
        expect(warnings.join("\n")).not.toContain("Plain-Text-Secret-1");
    });

    it("warns for a password set without --secret", () => {
        const warnings = warningsFor({ "memory-stack:password": "Plain-Text-Secret-1" }, []);
        expect(warnings).toEqual([expect.stringContaining("memory-stack:password is stored in plaintext")]);
        expect(warnings.join("\n")).not.toContain("Plain-Text-Secret-1");
    });

    it("says nothing when both are secrets, or unset", () => {
        expect(
            warningsFor({ "memory-stack:provisioner": "external", "memory-stack:databaseUrl": URL }, ["memory-stack:databaseUrl"]),
        ).toEqual([]);
        expect(warningsFor({ "memory-stack:password": "Plain-Text-Secret-1" }, ["memory-stack:password"])).toEqual([]);
        expect(warningsFor({}, [])).toEqual([]);
    });
});
