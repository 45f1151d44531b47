// What the program hands Pulumi, under mocks, with a configured password of every awkward character (docker
// mode, PgBouncer on) and with an external server's URL that carries one: every resource input that holds the
// password or a generated one, in any spelling, reaches the engine as a secret, and so does every output of
// the stack component that holds one. The passwords are cut by unique tokens: a token anywhere is the password.
import { beforeAll, describe, expect, it } from "vitest";
import type * as pulumi from "@pulumi/pulumi";
import { installMocks, isSecret, resolve, runStack, type MockedState } from "../support/program";
import { isWrappedSecret, withoutSecretWrappers } from "../support/secrets";

const CONFIGURED = `-Xq001 @Xq002#Xq003%Xq004/Xq005?Xq006&Xq007'Xq008"Xq009\\Xq010 üXq011=Xq012`;
// The mocks' RandomPassword results are generated-<name>-0123456789abcdef.
const HOLDS_PASSWORD = /Xq\d{3}|generated-[\w-]*0123456789abcdef/;

let mocks: MockedState;

beforeAll(() => {
    mocks = installMocks("dev");
});

/** Input properties of every registered resource that hold a password somewhere without being secret at their top. */
function plainPasswordInputs(prefix: string): string[] {
    return Object.entries(mocks.inputs)
        .filter(([key]) => key.split("::")[1].startsWith(prefix))
        .flatMap(([key, inputs]) =>
            Object.entries(inputs)
                .filter(([name, value]) => name !== "__provider" && !isWrappedSecret(value))
                .filter(([, value]) => HOLDS_PASSWORD.test(JSON.stringify(withoutSecretWrappers(value)) ?? ""))
                .map(([name]) => `${key}.${name}`),
        );
}

/** The stack component's public Output fields that hold a password, and whether each is a secret. */
async function outputsHolding(stack: Record<string, unknown>): Promise<Record<string, boolean>> {
    const found: Record<string, boolean> = {};
    for (const [name, value] of Object.entries(stack)) {
        if (value === null || typeof value !== "object" || !("apply" in value)) continue;
        const output = value as pulumi.Output<unknown>;
        if (HOLDS_PASSWORD.test(JSON.stringify((await resolve(output)) ?? null))) {
            found[name] = await isSecret(output);
        }
    }
    return found;
}

describe("every input and output that holds a password is a secret", () => {
    it("docker, pooled, with a configured password", async () => {
        const run = await runStack({ password: CONFIGURED }, "attack16-docker");
        expect(plainPasswordInputs("attack16-docker")).toEqual([]);
        const outputs = await outputsHolding(run.result as unknown as Record<string, unknown>);
        expect(Object.keys(outputs)).toEqual(
            expect.arrayContaining(["connectionString", "appConnectionString", "pooledConnectionString", "dotenv"]),
        );
        expect(Object.entries(outputs).filter(([, secret]) => !secret)).toEqual([]);
        // The rendered pgbouncer.ini is not a secret, and holds none; the auth file holds verifiers, no password.
        expect(HOLDS_PASSWORD.test(await resolve(run.result.pooler!.configFile))).toBe(false);
        const pooler = run.registered.find((r) => r.type === "docker:index/container:Container" && r.name.endsWith("-pgbouncer"))!;
        const uploads = await resolve(pooler.props.uploads as pulumi.Input<{ file: string; content: string }[]>);
        const auth = uploads.find((upload) => upload.file.endsWith(".txt") || /userlist|auth/.test(upload.file))!;
        expect(auth.content).toMatch(/SCRAM-SHA-256\$/);
        expect(HOLDS_PASSWORD.test(auth.content)).toBe(false);
    });

    it("external, with the password in the URL", async () => {
        const url = `postgresql://owner:${encodeURIComponent(CONFIGURED)}@db.example.com:5432/app?sslmode=require`;
        const run = await runStack({ provisioner: "external", databaseUrl: url }, "attack16-external");
        expect(plainPasswordInputs("attack16-external")).toEqual([]);
        const outputs = await outputsHolding(run.result as unknown as Record<string, unknown>);
        expect(Object.keys(outputs)).toEqual(expect.arrayContaining(["connectionString", "appConnectionString", "dotenv"]));
        expect(Object.entries(outputs).filter(([, secret]) => !secret)).toEqual([]);
    });
});
