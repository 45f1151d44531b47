// What a correctly deployed schema looks like, as plain JSON: the manifest's names, the columns,
// and the fingerprints of the deployed functions and triggers. The Pulumi program and the CLI
// build it from the same rendered migrations the schema resource applies; the verification
// resource receives it as an input, so its provider needs neither sql/ nor the renderer.
import { expectedObjects, tableColumns, type SchemaManifest } from "../migrate/manifest";
import { describeVariant } from "../migrate/plan";
import type { SchemaOptions } from "../migrate/render";
import { fingerprintMigrations, type Fingerprints } from "./fingerprints";

export interface Expectations {
    /** The ledger's name for the variant: "jsonb" or "vector(<dimensions>,<index>)". */
    variant: string;
    /** Names of every object, from engine/migrate/manifest.ts. */
    manifest: SchemaManifest;
    /** Column names per table: the seven memory tables and users. */
    columns: Record<string, string[]>;
    fingerprints: Fingerprints;
    /** Row level security is on: the isolation check runs as appRole. */
    rls: boolean;
    /** The RLS-subject role. */
    appRole: string;
    /** The role that sees every row. */
    adminRole: string;
}

export async function expectationsFor(options: SchemaOptions, migrations: readonly { name: string; sql: string }[]): Promise<Expectations> {
    const manifest = expectedObjects(options);
    const fingerprints = await fingerprintMigrations(migrations);
    if (options.vector) {
        // The vector variant gives the embeddings their type, and drops their jsonb checks, inside do blocks (0010, 0016),
        // which fingerprints do not read.
        delete fingerprints.columns?.goal_assessments?.goal_vector;
        delete fingerprints.columns?.belief_graphs?.belief_vector;
        fingerprints.constraints = fingerprints.constraints?.filter(
            (c) => !["goal_assessments_goal_vector_check", "belief_graphs_belief_vector_check"].includes(c.name),
        );
    }
    // Every trigger the manifest names must be proven: a manifest and migrations out of step is a bug here, not drift there.
    const unproven = manifest.triggers.filter((trigger) => fingerprints.triggers[trigger.name] === undefined);
    if (unproven.length > 0) {
        throw new Error(
            `the migrations define no trigger ${unproven.map((t) => t.name).join(", ")} that the manifest lists; ` +
                "engine/migrate/manifest.ts and sql/ disagree",
        );
    }
    return {
        variant: describeVariant(options),
        manifest,
        columns: tableColumns(options),
        fingerprints,
        rls: options.rls,
        appRole: options.appRole,
        adminRole: options.adminRole,
    };
}

/** "public.close_session(session_id uuid, status text)" → "public.close_session". */
export function functionName(signature: string): string {
    const open = signature.indexOf("(");
    return open < 0 ? signature : signature.slice(0, open);
}
