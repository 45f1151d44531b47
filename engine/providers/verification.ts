// The Verification dynamic provider's implementation, in plain TypeScript. components/verification.ts
// holds only a small stub that Pulumi serializes; the stub loads this code by package name
// (memory-stack/providers) when the engine calls it.
//
//   diff   → a change when the schema (its checksum), what a correct schema looks like (the schema's
//            options and manifest) or the connection changed; also when a refresh found drift, and for
//            state written by an older provider. Nothing changed: no change, so `pulumi preview
//            --expect-no-changes` passes on an unchanged stack. No database needed.
//   create → readiness barrier, then verifySchema on the direct connection; fails the up with the
//            whole report when anything is wrong, else outputs the summary
//   update → the same
//   read   → `pulumi refresh`: runs the checks again from state alone. Nothing drifted: the outputs
//            come back exactly as they were. Drift: `problems` lists it (and the counts show it), so
//            `pulumi refresh --expect-no-changes` fails, and the next up diffs as a change and verifies
//   delete → nothing: verification created nothing
import { withClient } from "../db/client";
import { describeError } from "../db/errors";
import { stateConnectionAdvice } from "./state-connection";
import type { ConnectionSettings } from "../db/url";
import { waitForDatabase } from "../db/readiness";
import { assertSchemaVerified, describeProblem, verifySchema } from "../verify/index";
import type { Expectations } from "../verify/expected";
import type { ObjectCounts, VerificationReport } from "../verify/report";
import { canonical } from "./canonical";
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

/**
 * The provider's outputs: the summary, and the inputs a refresh needs to check again from state alone
 * (the connection is a secret in state: the component lists it in additionalSecretOutputs).
 */
export interface VerificationOutputs {
    /** Shape of these outputs: 1 (release 2) held the summary only. An older one is updated on the next up. */
    stateVersion: typeof STATE_VERSION;
    connection: ConnectionSettings;
    expected: Expectations;
    schemaChecksum: string;
    readinessTimeoutMs: number;
    variant: string;
    counts: ObjectCounts;
    /** Behaviour checks that ran and passed. */
    checksPassed: number;
    /** What a refresh found missing or broken, one line each; always empty after create/update. */
    problems: string[];
    durationMs: number;
    /** ISO time of the check that produced these outputs. */
    checkedAt: string;
    roundTrips: { catalog: number; functional: number };
}

export const RESOURCE_ID = "memory-stack-verification";
/** The shape of the outputs this code writes. */
export const STATE_VERSION = 2;
const RESOURCE = "the verification (Verification)";

/** Inputs whose change re-runs the verification. readinessTimeoutMs changes nothing it checks. */
const COMPARED = ["connection", "expected", "schemaChecksum"] as const;

export function diff(
    _id?: string,
    olds?: Partial<VerificationOutputs>,
    news?: VerificationInputs,
): { changes: boolean; replaces: string[]; deleteBeforeReplace: boolean } {
    refuseNewerState(RESOURCE, olds, STATE_VERSION);
    // Release 2's stub called diff() without arguments: always a change, as that release meant.
    const changed = !olds || !news || COMPARED.some((key) => canonical(olds[key]) !== canonical(news[key]));
    const drifted = (olds?.problems ?? []).length > 0;
    const olderState = olds?.stateVersion !== STATE_VERSION;
    return { changes: changed || drifted || olderState, replaces: [], deleteBeforeReplace: false };
}

export async function create(inputs: VerificationInputs): Promise<{ id: string; outs: VerificationOutputs }> {
    return { id: RESOURCE_ID, outs: await verify(inputs) };
}

export async function update(
    _id: string,
    olds: Partial<VerificationOutputs> | undefined,
    news: VerificationInputs,
): Promise<{ outs: VerificationOutputs }> {
    refuseNewerState(RESOURCE, olds, STATE_VERSION);
    return { outs: await verify(news) };
}

/** Refresh: the checks again, on the connection and expectations in state. */
export async function read(id: string, olds: Partial<VerificationOutputs>): Promise<{ id: string; props: Partial<VerificationOutputs> }> {
    refuseNewerState(RESOURCE, olds, STATE_VERSION);
    if (olds.stateVersion !== STATE_VERSION || !olds.connection || !olds.expected) {
        return { id, props: olds }; // older state holds nothing to check with; the next up re-verifies it
    }
    const connection = olds.connection;
    const report = await withClient(connection, { applicationName: "memory-stack-refresh-verify", connectTimeoutMs: 30_000 }, (client) =>
        verifySchema(client, olds.expected!),
    ).catch((error: unknown) => {
        throw new Error(
            `cannot verify the memory schema at ${connection.user}@${connection.host}:${connection.port}/${connection.database} ` +
                `on refresh: ${describeError(error)}. ${stateConnectionAdvice(error, "refresh")}`,
            { cause: error },
        );
    });
    const found = summary(report);
    const unchanged = (["variant", "counts", "checksPassed", "problems"] as const).every(
        (key) => canonical(found[key]) === canonical(olds[key] ?? (key === "problems" ? [] : undefined)),
    );
    return { id, props: unchanged ? olds : { ...olds, ...found } };
}

export async function remove(): Promise<void> {
    // Verification leaves nothing behind, so there is nothing to delete.
}

async function verify(inputs: VerificationInputs): Promise<VerificationOutputs> {
    await waitForDatabase(inputs.connection, { timeoutMs: inputs.readinessTimeoutMs });
    // The direct connection: one session for the whole check run.
    return withClient(inputs.connection, { applicationName: "memory-stack-verify" }, async (client) => ({
        stateVersion: STATE_VERSION,
        connection: inputs.connection,
        expected: inputs.expected,
        schemaChecksum: inputs.schemaChecksum,
        readinessTimeoutMs: inputs.readinessTimeoutMs,
        ...summary(await assertSchemaVerified(client, inputs.expected)),
    }));
}

function summary(
    report: VerificationReport,
): Pick<VerificationOutputs, "variant" | "counts" | "checksPassed" | "problems" | "durationMs" | "checkedAt" | "roundTrips"> {
    return {
        variant: report.variant,
        counts: report.counts,
        checksPassed: report.checksPassed,
        problems: report.problems.map(describeProblem),
        durationMs: report.durationMs,
        checkedAt: report.checkedAt,
        roundTrips: report.roundTrips,
    };
}
