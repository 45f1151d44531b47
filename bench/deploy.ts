// Figure 4: deploy-to-verified on a running server: an empty database to a verified memory schema,
// through the schema resource's provider (from its serialized form), then the verification's, as a
// `pulumi up` calls them, with the roles' grants between them as SQL (the Grants component's part).
// Not included: Pulumi's engine and the provider host starting, and the deploy guard's read of the
// ledger, which a real `up` adds. The comparison is a reference, not measured here: Supabase's
// `db reset`, which recreates the local database and replays the migrations, takes about a minute.
import { withClient } from "../engine/db/client";
import { create as createVerification } from "../engine/providers/verification";
import { expectationsFor } from "../engine/verify/index";
import { grantStackPrivileges } from "../test/support/stack-grants";
import { loadProvider, registerSchemaMigration } from "../test/support/schema-provider";
import { median, ratio, timed, type BenchContext, type PartResult } from "./support/measure";
import type { BenchPostgres } from "./support/postgres";
import { rendered, schemaOptions } from "./support/schema";

const SUPABASE_DB_RESET_MS = 60_000;

export async function benchDeploy(ctx: BenchContext, pg: BenchPostgres): Promise<PartResult> {
    const repetitions = ctx.quick ? 2 : 5;
    const options = schemaOptions();
    const schema = rendered(options);
    const expected = await expectationsFor(options, schema.migrations);
    const samples: number[] = [];
    let checksPassed = 0;
    for (let run = 0; run <= repetitions; run++) {
        // run 0 warms up (loads the provider code)
        ctx.progress(`deploy: ${run === 0 ? "warm-up" : `repetition ${run}/${repetitions}`}: empty database → applied → verified`);
        const database = await pg.createDatabase("deploy");
        try {
            const connection = pg.settings(database);
            const registered = await registerSchemaMigration(`bench-deploy-${run}`, { connection, schema: options });
            const provider = loadProvider(registered.providerText);
            const { ms, result } = await timed(async () => {
                const applied = await provider.create(registered.inputs);
                // What the stack's Grants component does after the schema.
                await withClient(connection, { applicationName: "memory-stack-bench-grants" }, (client) =>
                    grantStackPrivileges(client, options),
                );
                return createVerification({ connection, expected, schemaChecksum: applied.outs.checksum, readinessTimeoutMs: 30_000 });
            });
            checksPassed = result.outs.checksPassed;
            if (run > 0) samples.push(ms);
        } finally {
            await pg.dropDatabase(database);
        }
    }
    const deploy = median(samples);
    return {
        rows: [
            {
                part: "deploy",
                figure: `empty database → ${schema.migrations.length} migrations applied → verified (${schema.variant})`,
                value: deploy,
                unit: "ms",
                baseline: { label: "Supabase db reset", value: SUPABASE_DB_RESET_MS, reference: true },
                ratio: ratio(deploy, SUPABASE_DB_RESET_MS),
                repetitions,
                note: `schema + verification providers, ${checksPassed} behaviour checks; excludes Pulumi engine startup`,
            },
        ],
        figures: { ms: { median: deploy, samples }, supabaseDbResetReferenceMs: SUPABASE_DB_RESET_MS, variant: schema.variant },
    };
}
