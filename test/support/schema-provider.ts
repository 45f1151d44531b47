// The SchemaMigration resource as the engine sees it: registered under Pulumi's mocks, its serialized
// provider (`__provider`) and resolved inputs taken from what the mock engine received, and the
// provider loaded back from that text in a fresh module context, as the dynamic-provider host does.
import * as pulumi from "@pulumi/pulumi";
import { SchemaMigration, type SchemaMigrationArgs } from "../../components/schema/resource";
import type { SchemaMigrationInputs } from "../../components/schema/provider";
import { installMocks } from "./program";
import { withoutSecretWrappers } from "./provider-host";

export const SCHEMA_MIGRATION_TOKEN = "pulumi-nodejs:dynamic/memory-stack:SchemaMigration";

export interface RegisteredSchemaMigration {
    /** The serialized provider, exactly as it would be stored in state. */
    providerText: string;
    /** The inputs the engine would send to the provider: resolved, plain (the host does not accept secrets). */
    inputs: SchemaMigrationInputs;
    /** The inputs as the mock engine received them, secrets still wrapped. */
    rawInputs: Record<string, unknown>;
    /** The resource options the program passed (additionalSecretOutputs, protect, ...). */
    opts: pulumi.CustomResourceOptions;
    /** The property values of the constructed resource (secret-ness of Outputs can be checked). */
    props: Record<string, unknown>;
}

export async function registerSchemaMigration(name: string, args: SchemaMigrationArgs, opts: pulumi.CustomResourceOptions = {}): Promise<RegisteredSchemaMigration> {
    const mocks = installMocks();
    let recorded: { props: Record<string, unknown>; opts: pulumi.CustomResourceOptions } | undefined;
    const resource = new SchemaMigration(name, args, {
        ...opts,
        transformations: [(seen) => {
            recorded = { props: seen.props, opts: seen.opts };
            return undefined;
        }],
    });
    await new Promise<void>((resolve) => resource.urn.apply(() => resolve()));
    const rawInputs = mocks.inputs[`${SCHEMA_MIGRATION_TOKEN}::${name}`];
    if (!rawInputs || !recorded) {
        throw new Error(`the mock engine saw no ${SCHEMA_MIGRATION_TOKEN} named ${name}`);
    }
    const { __provider: providerText, ...rest } = withoutSecretWrappers(rawInputs) as Record<string, unknown>;
    return { providerText: providerText as string, inputs: rest as unknown as SchemaMigrationInputs, rawInputs, opts: recorded.opts, props: recorded.props };
}

/** Loads a serialized provider the way @pulumi/pulumi/cmd/dynamic-provider does: require-from-string, then handler(). */
export function loadProvider(text: string): Required<Pick<pulumi.dynamic.ResourceProvider, "diff" | "create" | "update" | "delete">> {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const requireFromString = require("require-from-string") as (code: string) => { handler(): pulumi.dynamic.ResourceProvider };
    return requireFromString(text).handler() as Required<pulumi.dynamic.ResourceProvider>;
}

/** Plain values, as the host receives them after Configure said it does not accept secrets. */
export const unwrapSecrets = withoutSecretWrappers;

/** True when `value` (a raw mock input) is itself wrapped as a secret (Pulumi's secret signature). */
export function isWrappedSecret(value: unknown): boolean {
    return value !== null && typeof value === "object"
        && (value as Record<string, unknown>)["4dabf18193072939515e22adb298388d"] === "1b47061264138c4ac30d75fd1eb44270";
}
