// Figure 3: post-deploy verification, round trips and time, in the jsonb variant (embedded
// PostgreSQL 15) and the vector variant (PGlite with pgvector). The baseline checks the same names
// one query each (support/naive-verify.ts) and runs no behaviour check; verification checks every
// name in one catalog query, then runs its behaviour checks in one rolled-back transaction.
import { applyMigrations } from "../engine/migrate/index";
import { expectationsFor, verifySchema } from "../engine/verify/index";
import type { SchemaOptions } from "../engine/migrate/render";
import { startPgliteServer } from "../test/support/pglite-server";
import { roundTripCounter } from "./support/counting";
import { median, ratio, timed, type BenchContext, type PartResult, type Row } from "./support/measure";
import { naiveVerify } from "./support/naive-verify";
import { connect, type BenchPostgres } from "./support/postgres";
import { rendered, schemaOptions } from "./support/schema";
import type { ConnectionSettings } from "../engine/db/url";

export async function benchVerify(ctx: BenchContext, pg: BenchPostgres): Promise<PartResult> {
    const repetitions = ctx.quick ? 2 : 7;
    const database = await pg.createDatabase("verify");
    let jsonb;
    try {
        ctx.progress(`verify: jsonb variant on PostgreSQL 15, ${repetitions} runs each`);
        jsonb = await measure(pg.settings(database), schemaOptions({ vector: false }), repetitions);
    } finally {
        await pg.dropDatabase(database);
    }
    ctx.progress("verify: starting PGlite with pgvector for the vector variant");
    const server = await startPgliteServer();
    let vector;
    try {
        ctx.progress(`verify: vector variant on PGlite, ${repetitions} runs each`);
        vector = await measure(
            { host: server.host, port: server.port, user: server.user, password: server.password, database: server.database },
            schemaOptions({ vector: true }),
            repetitions,
        );
    } finally {
        await server.stop();
    }
    return {
        rows: [...rowsFor("jsonb, PostgreSQL 15", jsonb, repetitions), ...rowsFor("vector, PGlite", vector, repetitions)],
        figures: { jsonb, vector },
    };
}

type Measured = Awaited<ReturnType<typeof measure>>;

async function measure(settings: ConnectionSettings, options: SchemaOptions, repetitions: number) {
    const schema = rendered(options);
    const expected = await expectationsFor(options, schema.migrations);
    const client = await connect(settings);
    try {
        await applyMigrations(client, schema.migrations, { variant: schema.variant, schema: options, grantRoles: true });
        const ours: { ms: number; roundTrips: number; reported: number }[] = [];
        const naive: { ms: number; roundTrips: number }[] = [];
        let summary = { checksPassed: 0, objects: 0, naiveChecks: 0 };
        for (let run = 0; run <= repetitions; run++) {
            // run 0 warms up both
            const counted = roundTripCounter(client);
            const { ms, result: report } = await timed(() => verifySchema(counted, expected));
            if (!report.ok) {
                throw new Error(
                    `verification failed on a freshly applied ${schema.variant} schema: ${JSON.stringify(report.problems.slice(0, 5))}`,
                );
            }
            const countedNaive = roundTripCounter(client);
            const baseline = await timed(() => naiveVerify(countedNaive, expected));
            if (baseline.result.missing.length > 0) {
                throw new Error(`the naive baseline found missing objects on a verified schema: ${baseline.result.missing.join(", ")}`);
            }
            if (run > 0) {
                ours.push({ ms, roundTrips: counted.roundTrips, reported: report.roundTrips.catalog + report.roundTrips.functional });
                naive.push({ ms: baseline.ms, roundTrips: countedNaive.roundTrips });
            }
            const c = report.counts;
            summary = {
                checksPassed: report.checksPassed,
                objects:
                    c.extensions +
                    c.tables +
                    c.columns +
                    c.views +
                    c.functions +
                    c.otherFunctions +
                    c.triggers +
                    c.indexes +
                    c.policies +
                    c.rlsTables,
                naiveChecks: baseline.result.checks,
            };
        }
        return {
            variant: schema.variant,
            ms: median(ours.map((o) => o.ms)),
            roundTrips: median(ours.map((o) => o.roundTrips)),
            roundTripsReported: median(ours.map((o) => o.reported)),
            naiveMs: median(naive.map((n) => n.ms)),
            naiveRoundTrips: median(naive.map((n) => n.roundTrips)),
            ...summary,
            samples: { ours, naive },
        };
    } finally {
        await client.end();
    }
}

function rowsFor(label: string, m: Measured, repetitions: number): Row[] {
    const baselineLabel = `one query per object, ${m.naiveChecks} names`;
    return [
        {
            part: "verify",
            figure: `verification round trips (${label})`,
            value: m.roundTrips,
            unit: "round trips",
            baseline: { label: baselineLabel, value: m.naiveRoundTrips },
            ratio: ratio(m.roundTrips, m.naiveRoundTrips),
            repetitions,
            note: `${m.objects} objects + ${m.checksPassed} behaviour checks; engine reports ${m.roundTripsReported}`,
        },
        {
            part: "verify",
            figure: `verification time (${label})`,
            value: m.ms,
            unit: "ms",
            baseline: { label: baselineLabel, value: m.naiveMs },
            ratio: ratio(m.ms, m.naiveMs),
            repetitions,
            note: "baseline checks existence only",
        },
    ];
}
