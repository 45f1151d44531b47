// The host does not accept secrets, so the engine sends it plain values and it is the engine that
// stores outputs as secrets: those the resource options name in additionalSecretOutputs, and those
// whose input was secret. This proves, from what the dev stack's program registers under mocks,
// that every dynamic resource (the deploy guard, the schema, the verification) declares its
// connection secret both ways, and that every stack export holding a password or a connection
// string is a secret. (lifecycle-up.test.ts proves that the outputs the host really returns hold
// the password nowhere else.)
import { beforeAll, describe, expect, it } from "vitest";
import * as pulumi from "@pulumi/pulumi";
import { configFor, installMocks, isSecret, resolve, runProgram, type MockedState } from "../support/program";
import { secretPaths } from "../support/secrets";
import { DEPLOY_GUARD_TOKEN, SCHEMA_MIGRATION_TOKEN, VERIFICATION_TOKEN } from "../support/schema-provider";
import { stackConfig } from "../support/stack-files";

let mocks: MockedState;

beforeAll(() => {
    mocks = installMocks("dev");
    const config: Record<string, string> = {};
    for (const [key, value] of Object.entries(stackConfig("dev"))) {
        config[`memory-stack:${key}`] = value!;
    }
    pulumi.runtime.setAllConfig(config);
});

/** A password the mocks generated, or a URL with credentials in it. */
function holdsCredentials(value: unknown): boolean {
    const text = JSON.stringify(value ?? null);
    return text.includes("generated-") || /postgres(ql)?:\/\/[^:/@"]+:[^@"]+@/.test(text);
}

describe("secrets in state", () => {
    it("are declared for the connection of every dynamic resource, as a secret input and an additional secret output", async () => {
        const { MemoryStack } = await import("../../components/memory-stack");
        const run = await runProgram((opts) => new MemoryStack("memory-stack-secrets", { config: configFor(stackConfig("dev")) }, opts));

        for (const type of [DEPLOY_GUARD_TOKEN, SCHEMA_MIGRATION_TOKEN, VERIFICATION_TOKEN]) {
            const resource = run.find(type);
            expect(resource.opts.additionalSecretOutputs, type).toContain("connection");
            expect(await isSecret(resource.props.connection as pulumi.Input<unknown>), type).toBe(true);
            const received = mocks.inputs[`${type}::${resource.name}`];
            // Nothing but the connection carries credentials, and the engine received it wrapped as a secret.
            expect(
                Object.keys(received).filter((key) => holdsCredentials(received[key])),
                type,
            ).toEqual(["connection"]);
            expect(secretPaths(received), type).toEqual(["connection"]);
        }
    });

    it("hold every stack export that carries a password or a connection string", async () => {
        const program = (await import("../../index")) as Record<string, unknown>;
        const holding: string[] = [];
        for (const [name, value] of Object.entries(program)) {
            if (holdsCredentials(await resolve(value as pulumi.Input<unknown>))) {
                holding.push(name);
                expect(await isSecret(value as pulumi.Input<unknown>), name).toBe(true);
            }
        }
        expect(holding).toEqual(expect.arrayContaining(["connectionString", "appConnectionString", "dotenv"]));
    });
});
