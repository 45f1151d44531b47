// index.ts itself, run as `pulumi up` would run it for the dev stack: config from Pulumi.dev.yaml.
import * as pulumi from "@pulumi/pulumi";
import { expect, it } from "vitest";
import { installMocks, isSecret, resolve } from "../support/program";
import { stackConfig } from "../support/stack-files";

it("builds the dev stack from Pulumi.dev.yaml and exports its outputs, connection strings as secrets", async () => {
    const mocked = installMocks("dev");
    const config: Record<string, string> = {};
    for (const [key, value] of Object.entries(stackConfig("dev"))) {
        config[`memory-stack:${key}`] = value!;
    }
    pulumi.runtime.setAllConfig(config);
    const program = await import("../../index");

    expect(await resolve(program.host)).toBe("localhost");
    expect(await resolve(program.database)).toBe("ybryx");
    for (const secret of [program.connectionString, program.dotenv]) {
        expect(await isSecret(secret)).toBe(true);
    }
    expect(Object.keys(mocked.inputs)).toContain("docker:index/container:Container::memory-stack-dev-server-postgres");
});
