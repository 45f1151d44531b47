// Figure 2: a no-op `pulumi up`. The schema resource's diff (taken from its serialized form, as the
// engine runs it) must send no SQL and open no connection; a repeated engine apply with nothing
// pending sends a handful of statements; the baseline re-runs the whole file with psql, which is
// what a deploy script without a ledger does on every run. Statements are counted by the server
// (pg_stat_statements), connections and queries by instrumenting this process.
import type { Client } from "pg";
import { applyMigrations } from "../engine/migrate/index";
import { loadProvider, registerSchemaMigration } from "../test/support/schema-provider";
import { countingSent, roundTripCounter } from "./support/counting";
import { median, ratio, timed, type BenchContext, type PartResult } from "./support/measure";
import { connect, type BenchPostgres } from "./support/postgres";
import { findPsql, runPsqlFile, sqlFile } from "./support/psql";
import { plainSql, rendered, schemaOptions } from "./support/schema";

export async function benchNoop(ctx: BenchContext, pg: BenchPostgres): Promise<PartResult> {
    const repetitions = ctx.quick ? 3 : 9;
    const options = schemaOptions();
    const schema = rendered(options);
    const database = await pg.createDatabase("noop");
    const psqlDatabase = await pg.createDatabase("noop_psql");
    const file = sqlFile("schema.sql", (await plainSql(schema.migrations)).sql);
    try {
        ctx.progress("noop: first up through the schema resource's provider (serialized form)");
        const registered = await registerSchemaMigration("bench-schema", { connection: pg.settings(database), schema: options });
        const provider = loadProvider(registered.providerText);
        const created = await provider.create(registered.inputs);

        ctx.progress(`noop: ${repetitions} diffs with unchanged inputs`);
        await provider.diff(created.id, created.outs, registered.inputs); // loads the provider code once
        await pg.resetStatements();
        const diffs = [];
        for (let i = 0; i < repetitions; i++) {
            diffs.push(await countingSent(() => timed(() => provider.diff(created.id, created.outs, registered.inputs))));
        }
        const diffStatements = await pg.statementsSinceReset();
        const changed = diffs.filter(({ result }) => result.result.changes !== false).length;
        const diffQueries = diffs.reduce((sum, { sent }) => sum + sent.queries, 0);
        const diffConnections = diffs.reduce((sum, { sent }) => sum + sent.connections, 0);

        ctx.progress(`noop: ${repetitions} repeated engine applies${findPsql() ? " and psql -1 -f re-runs" : ""}`);
        const engine = await repeatApply(repetitions, pg, database, async (client) => {
            const counted = roundTripCounter(client);
            const result = await applyMigrations(counted, schema.migrations, { variant: schema.variant, schema: options });
            if (result.applied.length > 0) {
                throw new Error(`a repeated apply applied ${result.applied.map((m) => m.name).join(", ")}; it should find nothing pending`);
            }
            return counted.roundTrips;
        });
        const psql = findPsql();
        let rerun: Awaited<ReturnType<typeof repeatApply>> | null = null;
        if (psql) {
            await runPsqlFile(psql, pg.settings(psqlDatabase), file.path);
            rerun = await repeatApply(
                repetitions,
                pg,
                psqlDatabase,
                async () => {
                    await runPsqlFile(psql, pg.settings(psqlDatabase), file.path);
                    return null;
                },
                false,
            );
        }
        const perDiff = diffStatements / repetitions;
        return {
            rows: [
                {
                    part: "noop",
                    figure: "SQL statements sent by the schema resource's diff",
                    value: perDiff,
                    unit: "statements",
                    baseline: null,
                    ratio: null,
                    repetitions,
                    note:
                        `${diffStatements === 0 && diffConnections === 0 && changed === 0 ? "ok" : "FAIL"}: must be 0; ` +
                        `${diffConnections} connections opened; reports no change: ${changed === 0 ? "yes" : "NO"}; ` +
                        `${round1(median(diffs.map((d) => d.result.ms)))} ms`,
                },
                {
                    part: "noop",
                    figure: "statements sent by a repeated apply (nothing pending)",
                    value: engine.statements,
                    unit: "statements",
                    baseline: { label: "psql -1 -f re-run, same SQL", value: rerun?.statements ?? null },
                    ratio: ratio(engine.statements, rerun?.statements ?? null),
                    repetitions,
                    note: `counted by the server; ${engine.roundTrips} round trips from the engine`,
                },
                {
                    part: "noop",
                    figure: "time of a repeated apply (nothing pending)",
                    value: engine.ms,
                    unit: "ms",
                    baseline: { label: "psql -1 -f re-run", value: rerun?.ms ?? null },
                    ratio: ratio(engine.ms, rerun?.ms ?? null),
                    repetitions,
                    note: psql ? "engine: connect, lock, read ledger, unlock" : "psql not installed: no baseline",
                },
            ],
            figures: {
                diff: {
                    statementsPerDiff: perDiff,
                    pgQueries: diffQueries,
                    connections: diffConnections,
                    reportedChanges: changed,
                    ms: { median: median(diffs.map((d) => d.result.ms)), samples: diffs.map((d) => d.result.ms) },
                },
                repeatedApply: engine,
                psqlRerun: rerun,
            },
        };
    } finally {
        file.remove();
        await pg.dropDatabase(database);
        await pg.dropDatabase(psqlDatabase);
    }
}

/** Runs `apply` `repetitions` times on a new connection each; statements per run as the server counted them. */
async function repeatApply(
    repetitions: number,
    pg: BenchPostgres,
    database: string,
    apply: (client: Client) => Promise<number | null>,
    useClient = true,
) {
    const samples: number[] = [];
    let roundTrips: number | null = null;
    await pg.resetStatements();
    for (let i = 0; i < repetitions; i++) {
        const { ms, result } = await timed(async () => {
            if (!useClient) {
                return apply(undefined as unknown as Client);
            }
            const client = await connect(pg.settings(database));
            try {
                return await apply(client);
            } finally {
                await client.end();
            }
        });
        samples.push(ms);
        roundTrips = result;
    }
    const statements = (await pg.statementsSinceReset()) / repetitions;
    return { statements, roundTrips, ms: median(samples), samples };
}

function round1(value: number): number {
    return Math.round(value * 10) / 10;
}
