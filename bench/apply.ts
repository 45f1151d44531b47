// Figure 1: apply every migration to an empty database through the engine, against psql running
// the same rendered SQL in one transaction (`psql -1 -f`), the floor for this work. Both sides get
// a fresh database per repetition, alternate so machine load hits both alike, and include their
// connection setup; one unmeasured run of each first creates the cluster-wide roles and warms up.
import { applyMigrations } from "../engine/migrate/index";
import { median, ratio, timed, type BenchContext, type PartResult } from "./support/measure";
import { connect, type BenchPostgres } from "./support/postgres";
import { findPsql, psqlVersion, runPsqlFile, sqlFile } from "./support/psql";
import { plainSql, rendered, schemaOptions } from "./support/schema";

export async function benchApply(ctx: BenchContext, pg: BenchPostgres): Promise<PartResult> {
    const repetitions = ctx.quick ? 2 : 7;
    const options = schemaOptions();
    const schema = rendered(options);
    const psql = findPsql();
    const file = sqlFile("schema.sql", (await plainSql(schema.migrations)).sql);
    const engineMs: number[] = [];
    const psqlMs: number[] = [];
    try {
        for (let run = 0; run <= repetitions; run++) {
            const measured = run > 0; // run 0 warms up
            ctx.progress(
                `apply: ${measured ? `repetition ${run}/${repetitions}` : "warm-up"}: engine${psql ? " and psql -1 -f" : ""}, ${schema.migrations.length} migrations`,
            );
            const engine = await onFreshDatabase(
                pg,
                "apply_engine",
                async (settings) =>
                    (
                        await timed(async () => {
                            const client = await connect(settings);
                            try {
                                await applyMigrations(client, schema.migrations, { variant: schema.variant, schema: options });
                            } finally {
                                await client.end();
                            }
                        })
                    ).ms,
            );
            if (measured) engineMs.push(engine);
            if (psql) {
                const floor = await onFreshDatabase(
                    pg,
                    "apply_psql",
                    async (settings) => (await timed(() => runPsqlFile(psql, settings, file.path))).ms,
                );
                if (measured) psqlMs.push(floor);
            }
        }
    } finally {
        file.remove();
    }
    const engine = median(engineMs);
    const floor = psqlMs.length > 0 ? median(psqlMs) : null;
    return {
        rows: [
            {
                part: "apply",
                figure: `apply all ${schema.migrations.length} migrations to an empty database (engine)`,
                value: engine,
                unit: "ms",
                baseline: { label: "psql -1 -f, same SQL", value: floor },
                ratio: ratio(engine, floor),
                repetitions,
                note: psql
                    ? "engine adds preflight, ledger, advisory lock, a transaction per file, ownership records (a catalog read with each file, in its round trip; the one before it is the previous file's when the begin's check finds no other commit; records and ledger row with the commit; a second session asked only when another transaction committed meanwhile; one WAL flush for the run, at the lock's release)"
                    : "psql not installed (apt-get install postgresql-client): no baseline",
            },
        ],
        figures: {
            migrations: schema.migrations.map((m) => m.name),
            variant: schema.variant,
            engineMs: { median: engine, samples: engineMs },
            psqlMs: floor === null ? null : { median: floor, samples: psqlMs },
            psql: psql ? psqlVersion(psql) : null,
        },
    };
}

async function onFreshDatabase<T>(
    pg: BenchPostgres,
    prefix: string,
    work: (settings: ReturnType<BenchPostgres["settings"]>) => Promise<T>,
): Promise<T> {
    const name = await pg.createDatabase(prefix);
    try {
        return await work(pg.settings(name));
    } finally {
        await pg.dropDatabase(name);
    }
}
