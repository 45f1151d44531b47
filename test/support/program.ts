// Runs the Pulumi program under `pulumi.runtime.setMocks` and records every resource it registers:
// its type, name, inputs as the program built them (Outputs included, so secrecy can be checked)
// and its resource options (dependsOn, parent, retainOnDelete, additionalSecretOutputs, protect).
import { createHash } from "node:crypto";
import * as pulumi from "@pulumi/pulumi";
import { parseConfig, type RawConfig } from "../../engine/config/config";

export interface Registered {
    type: string;
    name: string;
    props: Record<string, unknown>;
    opts: pulumi.CustomResourceOptions & pulumi.ComponentResourceOptions;
    resource?: pulumi.Resource;
}

export interface MockedState {
    /** What the mock engine saw: plain, resolved inputs. */
    inputs: Record<string, Record<string, unknown>>;
}

let installed: MockedState | undefined;

/** Installs the mocks once per test file (they are process-wide). `call` throws on anything unexpected. */
export function installMocks(stack = "dev"): MockedState {
    if (installed) {
        return installed;
    }
    const state: MockedState = { inputs: {} };
    pulumi.runtime.setMocks(
        {
            newResource(args) {
                state.inputs[`${args.type}::${args.name}`] = args.inputs;
                return { id: `${args.name}-id`, state: { ...args.inputs, ...mockOutputs(args.type, args.name, args.inputs) } };
            },
            call(args) {
                throw new Error(`unexpected provider function call ${args.token}`);
            },
        },
        "memory-stack",
        stack,
        false,
    );
    installed = state;
    return state;
}

/** Outputs a real provider would compute and the program reads. */
function mockOutputs(type: string, name: string, inputs: Record<string, unknown>): Record<string, unknown> {
    switch (type) {
        case "random:index/randomPassword:RandomPassword":
            return { result: `generated-${name}-0123456789abcdef` };
        case "random:index/randomId:RandomId":
            return {
                b64Std: createHash("sha256")
                    .update(name)
                    .digest()
                    .subarray(0, inputs.byteLength as number)
                    .toString("base64"),
            };
        case "docker:index/remoteImage:RemoteImage":
            return { imageId: `sha256:${name}`, repoDigest: `${inputs.name}@sha256:0` };
        default:
            return {};
    }
}

export interface ProgramRun<T> {
    result: T;
    registered: Registered[];
    /** The one resource of this type whose name ends with the suffix; throws listing what exists otherwise. */
    find(type: string, nameSuffix?: string): Registered;
    all(type: string): Registered[];
}

/** A transformation on the root component that records every child, then builds the component. */
export async function runProgram<T extends pulumi.Resource>(build: (opts: pulumi.ComponentResourceOptions) => T): Promise<ProgramRun<T>> {
    const registered: Registered[] = [];
    const result = build({
        transformations: [
            (args) => {
                registered.push({ type: args.type, name: args.name, props: args.props, opts: args.opts, resource: args.resource });
                return undefined;
            },
        ],
    });
    await settle(result);
    // A child registered late (one built after an await, like the Verification) is registered with the engine
    // once its urn resolves: wait for every one, including those that appear while waiting.
    for (let settled = 0; settled < registered.length;) {
        const pending = registered.slice(settled);
        settled = registered.length;
        await Promise.all(pending.map((child) => (child.resource ? resolve(child.resource.urn) : undefined)));
    }
    return {
        result,
        registered,
        find(type, nameSuffix = "") {
            const matches = registered.filter((r) => r.type === type && r.name.endsWith(nameSuffix));
            if (matches.length !== 1) {
                throw new Error(
                    `expected one ${type} named *${nameSuffix}, found ${matches.length}; registered: ${registered.map((r) => `${r.type} ${r.name}`).join(", ")}`,
                );
            }
            return matches[0];
        },
        all(type) {
            return registered.filter((r) => r.type === type);
        },
    };
}

export function configFor(raw: RawConfig) {
    return parseConfig(raw);
}

/** The whole stack component for this raw config, under the mocks (installMocks first). */
export async function runStack(raw: RawConfig, name = "memory-stack-dev") {
    const { MemoryStack } = await import("../../components/memory-stack");
    return runProgram((opts) => new MemoryStack(name, { config: configFor(raw) }, opts));
}

/** The resolved value of an Input, secret or not. */
export function resolve<T>(input: pulumi.Input<T>): Promise<T> {
    return new Promise((done) => pulumi.output(input).apply((value) => done(value as T)));
}

export function isSecret(input: pulumi.Input<unknown>): Promise<boolean> {
    return pulumi.isSecret(pulumi.output(input));
}

/** Waits until every registration the component started has reached the mocks. */
async function settle(resource: pulumi.Resource): Promise<void> {
    await resolve((resource as unknown as { urn: pulumi.Output<string> }).urn);
    for (let i = 0; i < 5; i++) {
        await new Promise((done) => setImmediate(done));
    }
}
