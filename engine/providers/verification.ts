// The Verification dynamic provider's implementation, in plain TypeScript. resource.ts holds only a
// small stub that Pulumi serializes; the stub loads this file from the project directory when the
// engine calls it (as the schema resource does), so what runs in the provider host is this code.
//
//   diff   → always a change: verification runs on every `up`, whatever changed or did not
//   create → readiness barrier, then verifySchema on the direct connection; fails the up with
//            the whole report when anything is wrong, else outputs the summary
//   update → the same
//   delete → nothing: verification created nothing
import { withClient } from "../db/client";
import type { ConnectionSettings } from "../db/url";
import { waitForDatabase } from "../db/readiness";
import { assertSchemaVerified } from "../verify/index";
import type { Expectations } from "../verify/expected";
import type { ObjectCounts } from "../verify/report";
import { refuseNewerState } from "./state-version";

/** The provider's inputs, resolved. */
export interface VerificationInputs {
    /** Direct connection to the database (never the pooler); secret. */
    connection: ConnectionSettings;
    /** What a correct schema looks like, built by the program from the rendered migrations. */
    expected: Expectations;
    /** The schema resource's checksum at this up: ties the verification to what was applied. */
    schemaChecksum: string;
    /** How long create/update wait for the server to answer. */
    readinessTimeoutMs: number;
}

/** The provider's outputs: the summary only (no connection, so no password, ever). */
export interface VerificationOutputs {
    stateVersion: typeof STATE_VERSION;
    variant: string;
    schemaChecksum: string;
    counts: ObjectCounts;
    /** Behaviour checks that ran and passed. */
    checksPassed: number;
    durationMs: number;
    /** ISO time of the check. */
    checkedAt: string;
    roundTrips: { catalog: number; functional: number };
}

export const RESOURCE_ID = "memory-stack-verification";
/** The shape of the outputs this code writes. */
export const STATE_VERSION = 1;

export function diff(
    _id?: string,
    olds?: { stateVersion?: unknown },
): { changes: boolean; replaces: string[]; deleteBeforeReplace: boolean } {
    refuseNewerState("the verification (Verification)", olds, STATE_VERSION);
    return { changes: true, replaces: [], deleteBeforeReplace: false };
}

export async function create(inputs: VerificationInputs): Promise<{ id: string; outs: VerificationOutputs }> {
    return { id: RESOURCE_ID, outs: await verify(inputs) };
}

export async function update(_id: string, _olds: unknown, news: VerificationInputs): Promise<{ outs: VerificationOutputs }> {
    return { outs: await verify(news) };
}

export async function remove(): Promise<void> {
    // Verification leaves nothing behind, so there is nothing to delete.
}

async function verify(inputs: VerificationInputs): Promise<VerificationOutputs> {
    await waitForDatabase(inputs.connection, { timeoutMs: inputs.readinessTimeoutMs });
    // The direct connection: one session for the whole check run.
    return withClient(inputs.connection, { applicationName: "memory-stack-verify" }, async (client) => {
        const report = await assertSchemaVerified(client, inputs.expected);
        return {
            stateVersion: STATE_VERSION,
            variant: report.variant,
            schemaChecksum: inputs.schemaChecksum,
            counts: report.counts,
            checksPassed: report.checksPassed,
            durationMs: report.durationMs,
            checkedAt: report.checkedAt,
            roundTrips: report.roundTrips,
        };
    });
}
