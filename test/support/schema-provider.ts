// The dynamic resources (SchemaMigration, Verification) as the engine sees them: registered under
// Pulumi's mocks, their serialized provider (`__provider`) and resolved inputs taken from what the
// mock engine received, and the provider loaded back from that text in a fresh module context, as
// the dynamic-provider host does.
import type * as pulumi from "@pulumi/pulumi";
import type { SchemaMigrationInputs } from "../../engine/providers/schema-migration";
import { SchemaMigration, type SchemaMigrationArgs } from "../../components/schema-migration";
import type { VerificationInputs } from "../../engine/providers/verification";
import { Verification, type VerificationArgs } from "../../components/verification";
import { DeployGuard, type DeployGuardArgs } from "../../components/deploy-guard";
import type { DeployGuardInputs } from "../../engine/providers/deploy-guard";
import { installMocks } from "./program";
import { withoutSecretWrappers } from "./secrets";

export const SCHEMA_MIGRATION_TOKEN = "pulumi-nodejs:dynamic/memory-stack:SchemaMigration";
export const VERIFICATION_TOKEN = "pulumi-nodejs:dynamic/memory-stack:Verification";
export const DEPLOY_GUARD_TOKEN = "pulumi-nodejs:dynamic/memory-stack:DeployGuard";

export interface RegisteredDynamic<Inputs> {
    type: string;
    name: string;
    /** The serialized provider, exactly as it would be stored in state. */
    providerText: string;
    /** The inputs the engine would send to the provider: resolved, plain (the host does not accept secrets). */
    inputs: Inputs;
    /** The inputs as the mock engine received them, __provider included, secrets still wrapped. */
    rawInputs: Record<string, unknown>;
    /** The resource options the program passed (additionalSecretOutputs, protect, ...). */
    opts: pulumi.CustomResourceOptions;
}

export type RegisteredSchemaMigration = RegisteredDynamic<SchemaMigrationInputs>;

/** Registers one dynamic resource under mocks (`build` must pass its opts on) and returns what the engine received for it. */
export async function registerDynamic<Inputs>(
    type: string,
    name: string,
    build: (opts: pulumi.CustomResourceOptions) => pulumi.CustomResource,
): Promise<RegisteredDynamic<Inputs>> {
    const mocks = installMocks();
    let opts: pulumi.CustomResourceOptions | undefined;
    const resource = build({ transformations: [(seen) => ((opts = seen.opts), undefined)] });
    await new Promise<void>((resolve) => resource.urn.apply(() => resolve()));
    const rawInputs = mocks.inputs[`${type}::${name}`];
    if (!rawInputs || !opts) {
        throw new Error(`the mock engine saw no ${type} named ${name}`);
    }
    const { __provider: providerText, ...inputs } = withoutSecretWrappers(rawInputs) as Record<string, unknown>;
    return { type, name, providerText: providerText as string, inputs: inputs as Inputs, rawInputs, opts };
}

export function registerSchemaMigration(
    name: string,
    args: SchemaMigrationArgs,
    opts: pulumi.CustomResourceOptions = {},
): Promise<RegisteredSchemaMigration> {
    return registerDynamic(SCHEMA_MIGRATION_TOKEN, name, (mockOpts) => new SchemaMigration(name, args, { ...opts, ...mockOpts }));
}

export function registerVerification(name: string, args: VerificationArgs): Promise<RegisteredDynamic<VerificationInputs>> {
    return registerDynamic(VERIFICATION_TOKEN, name, (mockOpts) => new Verification(name, args, mockOpts));
}

export function registerDeployGuard(name: string, args: DeployGuardArgs): Promise<RegisteredDynamic<DeployGuardInputs>> {
    return registerDynamic(DEPLOY_GUARD_TOKEN, name, (mockOpts) => new DeployGuard(name, args, mockOpts));
}

/** Loads a serialized provider the way @pulumi/pulumi/cmd/dynamic-provider does: require-from-string, then handler(). */
export function loadProvider(text: string): Required<Pick<pulumi.dynamic.ResourceProvider, "diff" | "create" | "update" | "delete">> {
    const requireFromString = require("require-from-string") as (code: string) => { handler(): pulumi.dynamic.ResourceProvider };
    return requireFromString(text).handler() as Required<pulumi.dynamic.ResourceProvider>;
}
