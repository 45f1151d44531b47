// Figure 6: similarity search on 10,000 goals with 1536-dimension embeddings, both variants side by
// side on the same engine (PGlite with pgvector, over the wire through `pg`) and the same rows:
//   - match_goals top-10 in the jsonb variant (the exact cosine scan, computed in SQL);
//   - the jsonb → vector migration of those rows (0010_vector.sql: check, convert, build the index);
//   - match_goals top-10 in the vector variant (ordered by <=>, meant to use the ANN index).
// recall@10 is against the exact answer computed here from the same numbers. The table is analyzed
// after seeding and after the migration, as autovacuum would on a server, and calls are timed after
// a warm-up, in the steady state a long-lived application sees. pgvector's defaults throughout.
import type { Client } from "pg";
import { applyMigrations } from "../engine/migrate/index";
import { startPgliteServer } from "../test/support/pglite-server";
import { clusteredEmbeddings, embeddingText, exactTopK, recall, type EmbeddingSet } from "./support/embeddings";
import { median, ratio, round, timed, type BenchContext, type PartResult, type Row } from "./support/measure";
import { connect } from "./support/postgres";
import { rendered, schemaOptions } from "./support/schema";

const SIZES = {
    full: { rows: 10_000, dimensions: 1536, clusters: 250, queries: 20, exactQueries: 1, warmup: 6, batch: 250 },
    quick: { rows: 1_000, dimensions: 64, clusters: 25, queries: 5, exactQueries: 3, warmup: 6, batch: 250 },
};
const USERS = 100;
const K = 10;

export async function benchVector(ctx: BenchContext): Promise<PartResult> {
    const size = ctx.quick ? SIZES.quick : SIZES.full;
    ctx.progress(`vector: generating ${size.rows} embeddings of ${size.dimensions} dimensions around ${size.clusters} centroids (seed 7)`);
    const data = clusteredEmbeddings({
        count: size.rows,
        queries: size.queries,
        dimensions: size.dimensions,
        clusters: size.clusters,
        seed: 7,
    });
    const truth = data.queries.map((query) => exactTopK(data.vectors, query, K).map((index) => `goal ${index}`));

    ctx.progress("vector: starting PGlite with pgvector (pglite-socket)");
    const server = await startPgliteServer();
    let client: Client | undefined;
    try {
        client = await connect({
            host: server.host,
            port: server.port,
            user: server.user,
            password: server.password,
            database: server.database,
        });
        const jsonb = rendered(schemaOptions({ vector: false, vectorDimensions: size.dimensions }));
        const vector = rendered(schemaOptions({ vector: true, vectorDimensions: size.dimensions }));
        await applyMigrations(client, jsonb.migrations, { variant: jsonb.variant });

        const seeding = await timed(() => seed(ctx, client!, data, size.batch));
        await client.query("analyze public.goal_assessments");

        const exactCount = Math.min(size.exactQueries, data.queries.length);
        ctx.progress(
            `vector: jsonb variant, exact match_goals for ${exactCount} quer${exactCount === 1 ? "y" : "ies"} over ${size.rows} rows (the scan is slow by nature)`,
        );
        const exact = await searches(client, "jsonb", data.queries, truth, range(exactCount));

        ctx.progress(`vector: migrating the ${size.rows} rows jsonb → vector(${size.dimensions}) with an hnsw index (0010_vector.sql)`);
        const migration = await timed(() => applyMigrations(client!, vector.migrations, { variant: vector.variant }));
        await client.query("analyze public.goal_assessments");

        ctx.progress(`vector: vector variant, ${size.warmup} warm-up + ${size.queries} timed match_goals calls`);
        await searches(
            client,
            "vector",
            data.queries,
            truth,
            range(size.warmup).map((i) => i % data.queries.length),
        );
        const scansBefore = await indexScans(client);
        const ann = await searches(client, "vector", data.queries, truth, range(data.queries.length));
        const annIndexScans = (await indexScans(client)) - scansBefore;

        // PostgreSQL 15 plans the body of a non-inlined SQL function without the argument values
        // (a generic plan) on every call; PostgreSQL 18, which PGlite is, may plan with them. Forcing
        // generic plans here shows what match_goals does on the PostgreSQL 15 a stack deploys.
        ctx.progress(`vector: vector variant, ${size.queries} match_goals calls with generic plans (as PostgreSQL 15 plans SQL functions)`);
        await client.query("set plan_cache_mode = force_generic_plan");
        const genericBefore = await indexScans(client);
        const generic = await searches(client, "vector", data.queries, truth, range(data.queries.length));
        const genericIndexScans = (await indexScans(client)) - genericBefore;
        await client.query("reset plan_cache_mode");
        const efSearch = (await client.query<{ value: string }>("select current_setting('hnsw.ef_search') as value")).rows[0].value;

        return {
            rows: rowsFor(size, exact, ann, annIndexScans, generic, genericIndexScans, migration.ms, seeding.ms, efSearch),
            figures: {
                engine: (await client.query<{ version: string }>("select version()")).rows[0].version,
                rows: size.rows,
                dimensions: size.dimensions,
                clusters: size.clusters,
                seed: 7,
                k: K,
                hnswEfSearch: Number(efSearch),
                seedingMs: seeding.ms,
                jsonbExact: exact,
                migrationMs: migration.ms,
                vectorAnn: { ...ann, indexScans: annIndexScans, warmupCalls: size.warmup },
                vectorGenericPlan: { ...generic, indexScans: genericIndexScans },
            },
        };
    } finally {
        await client?.end().catch(() => undefined);
        await server.stop();
    }
}

type Search = Awaited<ReturnType<typeof searches>>;

function rowsFor(
    size: (typeof SIZES)["full"],
    exact: Search,
    ann: Search,
    annIndexScans: number,
    generic: Search,
    genericIndexScans: number,
    migrationMs: number,
    seedingMs: number,
    efSearch: string,
): Row[] {
    const exactCount = exact.latencies.length;
    const rowsLabel = `${size.rows.toLocaleString("en-US")} goals × ${size.dimensions} dims`;
    return [
        {
            part: "vector",
            figure: `match_goals top-${K} latency, ${rowsLabel} (vector variant, hnsw)`,
            value: ann.latency,
            unit: "ms",
            baseline: { label: `jsonb variant, exact scan, n=${exactCount}`, value: exact.latency },
            ratio: ratio(ann.latency, exact.latency),
            repetitions: size.queries,
            note: `index used in ${annIndexScans} of ${size.queries} calls; PGlite (PostgreSQL 18 in wasm)`,
        },
        {
            part: "vector",
            figure: `match_goals top-${K} latency, generic plan (as PostgreSQL 15 plans it)`,
            value: generic.latency,
            unit: "ms",
            baseline: { label: `jsonb variant, exact scan, n=${exactCount}`, value: exact.latency },
            ratio: ratio(generic.latency, exact.latency),
            repetitions: size.queries,
            note: `index used in ${genericIndexScans} of ${size.queries} calls; recall@${K} ${round(generic.recall)}`,
        },
        {
            part: "vector",
            figure: `match_goals recall@${K}, ${rowsLabel}`,
            value: ann.recall,
            unit: "recall",
            baseline: { label: "jsonb variant, exact scan", value: exact.recall },
            ratio: ratio(ann.recall, exact.recall),
            repetitions: size.queries,
            // Clusters no bigger than ef_search fit in the search's candidate list: see the README.
            note: `mean over queries, truth computed here; ~${Math.round(size.rows / size.clusters)} goals per cluster; hnsw defaults, ef_search ${efSearch}`,
        },
        {
            part: "vector",
            figure: `migrate ${rowsLabel} jsonb → vector (0010_vector.sql)`,
            value: migrationMs,
            unit: "ms",
            baseline: null,
            ratio: null,
            repetitions: 1,
            note: `check + convert + hnsw build; seeding took ${Math.round(seedingMs)} ms (not a figure)`,
        },
    ];
}

async function seed(ctx: BenchContext, client: Client, data: EmbeddingSet, batch: number): Promise<void> {
    const users = await client.query<{ id: string }>(
        `insert into public.users (email) select format('bench-%s@example.com', n) from generate_series(1, ${USERS}) n returning id`,
    );
    const ids = users.rows.map((row) => row.id);
    for (let start = 0; start < data.vectors.length; start += batch) {
        if (start % (batch * 10) === 0) {
            ctx.progress(
                `vector: seeding goals ${start + 1}..${Math.min(start + batch * 10, data.vectors.length)} of ${data.vectors.length}`,
            );
        }
        // One parameter per batch: a json array of [user_id, goal_text, embedding] rows.
        const rows = data.vectors
            .slice(start, start + batch)
            .map((vector, offset) => `["${ids[(start + offset) % ids.length]}","goal ${start + offset}",${embeddingText(vector)}]`);
        await client.query(
            `insert into public.goal_assessments (user_id, agent_name, goal_text, goal_vector)
             select (r ->> 0)::uuid, 'bench', r ->> 1, r -> 2 from jsonb_array_elements($1::jsonb) r`,
            [`[${rows.join(",")}]`],
        );
    }
}

/** Runs match_goals for the queries at `which`; median latency and mean recall@K against `truth`. */
async function searches(client: Client, variant: "jsonb" | "vector", queries: Float64Array[], truth: string[][], which: number[]) {
    const latencies: number[] = [];
    const recalls: number[] = [];
    for (const index of which) {
        const { ms, result } = await timed(() =>
            client.query<{ goal_text: string }>(`select goal_text from public.match_goals($1::${variant}, $2)`, [
                embeddingText(queries[index]),
                K,
            ]),
        );
        latencies.push(ms);
        recalls.push(
            recall(
                result.rows.map((row) => row.goal_text),
                truth[index],
            ),
        );
    }
    return { latency: median(latencies), recall: recalls.reduce((a, b) => a + b, 0) / recalls.length, latencies, recalls };
}

function range(count: number): number[] {
    return Array.from({ length: count }, (_, i) => i);
}

/** Scans of the embedding's ANN index so far (stats flushed first so the count is current). */
async function indexScans(client: Client): Promise<number> {
    await client.query("select pg_stat_force_next_flush()");
    const result = await client.query<{ scans: string }>(
        "select coalesce(sum(idx_scan), 0)::text as scans from pg_stat_user_indexes where indexrelname = 'idx_goal_assessments_goal_vector'",
    );
    return Number(result.rows[0].scans);
}
