// Verification: the post-deploy check as a Pulumi dynamic resource. It comes after the schema
// resource and runs when the schema, its options or the connection change, and on `pulumi refresh`;
// create/update fail the up with the whole report when anything is missing or broken.
//
//   diff   → a change when those inputs changed, or a refresh found drift (never a replacement)
//   create → verify (engine/verify) on the direct connection; outputs the summary
//   update → the same
//   read   → the checks again (refresh); drift shows in `problems`
//   delete → nothing to undo
//
// The serialized stub below loads memory-stack/providers at call time: see ./provider-loader.ts.
import * as pulumi from "@pulumi/pulumi";
import type { ConnectionSettings } from "../engine/db/url";
import { loadProviders } from "./provider-loader";
import { loadMigrationSources, renderMigrations, type Migration, type SchemaOptions } from "../engine/migrate/render";
import { expectationsFor } from "../engine/verify/expected";
import type { VerificationInputs, VerificationOutputs } from "../engine/providers/verification";
import type { ObjectCounts } from "../engine/verify/report";

export type { VerificationInputs, VerificationOutputs } from "../engine/providers/verification";

export interface VerificationArgs {
    /** Direct connection to the database, never the pooler (the checks need one session); wrapped secret. */
    connection: pulumi.Input<ConnectionSettings>;
    /** The schema's options: which variant, roles and rls to expect. */
    schema: SchemaOptions;
    /** The schema resource's checksum output; links this run to what was applied. Default: "" (none). */
    schemaChecksum?: pulumi.Input<string>;
    /** How long create/update wait for the server to answer `select 1`. Default: 120 000 ms. */
    readinessTimeoutMs?: pulumi.Input<number>;
    /** The rendered migrations the schema resource applies. Default: sql/ rendered for `schema` (tests pass their own). */
    migrations?: Migration[];
}

/** The summary a stack exports: what was verified, how long it took, when. */
export type VerificationSummary = Pick<
    VerificationOutputs,
    "variant" | "schemaChecksum" | "counts" | "checksPassed" | "durationMs" | "checkedAt" | "roundTrips"
>;

export const VERIFICATION_TYPE = "Verification";
/** The type token is pulumi-nodejs:dynamic/memory-stack:Verification. */
export const VERIFICATION_MODULE = "memory-stack";

// A module-level const, so the serialized stub captures the function itself, not the module.
const load = loadProviders;

const provider: pulumi.dynamic.ResourceProvider = {
    diff: async (id, olds, news) => load().verification.diff(id, olds, news),
    create: async (inputs) => load().verification.create(inputs),
    update: async (id, olds, news) => load().verification.update(id, olds, news),
    read: async (id, props) => load().verification.read(id, props),
    delete: async () => load().verification.remove(),
};

export class Verification extends pulumi.dynamic.Resource {
    declare readonly variant: pulumi.Output<string>;
    declare readonly schemaChecksum: pulumi.Output<string>;
    declare readonly counts: pulumi.Output<ObjectCounts>;
    declare readonly checksPassed: pulumi.Output<number>;
    declare readonly durationMs: pulumi.Output<number>;
    declare readonly checkedAt: pulumi.Output<string>;
    declare readonly roundTrips: pulumi.Output<{ catalog: number; functional: number }>;
    /** What the last refresh found missing or broken; empty after every successful up. */
    declare readonly problems: pulumi.Output<string[]>;
    /** Everything above in one value, for a stack output. */
    readonly summary: pulumi.Output<VerificationSummary>;

    constructor(name: string, args: VerificationArgs, opts: pulumi.CustomResourceOptions = {}) {
        super(
            provider,
            name,
            {
                ...verificationInputs(args),
                stateVersion: undefined,
                variant: undefined,
                counts: undefined,
                checksPassed: undefined,
                durationMs: undefined,
                checkedAt: undefined,
                roundTrips: undefined,
                problems: undefined,
            },
            {
                ...opts,
                // The outputs carry the connection, for refresh to check from state alone: a secret in state.
                additionalSecretOutputs: [...(opts.additionalSecretOutputs ?? []), "connection"],
            },
            VERIFICATION_MODULE,
            VERIFICATION_TYPE,
        );
        this.summary = pulumi
            .all([this.variant, this.schemaChecksum, this.counts, this.checksPassed, this.durationMs, this.checkedAt, this.roundTrips])
            .apply(([variant, schemaChecksum, counts, checksPassed, durationMs, checkedAt, roundTrips]) => ({
                variant,
                schemaChecksum,
                counts,
                checksPassed,
                durationMs,
                checkedAt,
                roundTrips,
            }));
    }
}

/** The provider's inputs from plain schema options; only the connection and the checksum may be Outputs. */
export function verificationInputs(args: VerificationArgs): { [K in keyof VerificationInputs]: pulumi.Input<VerificationInputs[K]> } {
    const migrations = args.migrations ?? renderMigrations(loadMigrationSources(), args.schema);
    return {
        connection: pulumi.secret(args.connection),
        expected: expectationsFor(args.schema, migrations),
        schemaChecksum: args.schemaChecksum ?? "",
        readinessTimeoutMs: args.readinessTimeoutMs ?? 120_000,
    };
}
