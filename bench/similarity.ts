// Similarity search side by side, in one run, on the same rows and queries at each size:
//   - match_goals in the jsonb variant on the embedded PostgreSQL 15: the default (sign-bit pass,
//     two-bit re-score, exact cosine of the best 100), exact => true, and one user's 30% of the rows;
//   - match_goals in the vector variant on PGlite with pgvector 0.8 (hnsw, pgvector's ef_search 40),
//     all rows and one user's 30%, and its exact scan;
//   - a brute-force scan in Node over Float32Array copies.
// The data are topic mixtures with noise (support/embeddings.ts topicEmbeddings), the queries drawn
// the same way, never rows; recall@10 is against the exact answer computed here in double precision.
// Then the trade each knob offers at the largest size, per call: jsonb candidates, hnsw ef_search,
// and ivfflat probes on an ivfflat index built over the same rows.
// Every table is analyzed after seeding, and calls are timed after warm-up calls.
import type { Client } from "pg";
import { applyMigrations } from "../engine/migrate/index";
import { startPgliteServer } from "../test/support/pglite-server";
import { exactTopK, topicEmbeddings, type EmbeddingSet } from "./support/embeddings";
import { ratio, round, timed, type BenchContext, type PartResult, type Row } from "./support/measure";
import { connect, type BenchPostgres } from "./support/postgres";
import { rendered, schemaOptions } from "./support/schema";
import {
    bruteForce,
    createUsers,
    filteredUser,
    goalText,
    K,
    ownerOf,
    range,
    searchRun,
    seedGoals,
    type SearchRun,
} from "./support/search-runs";

const FULL = { sizes: [1_000, 10_000, 100_000], dimensions: 1536, queries: 20, exactQueries: [5, 3, 1] };
const QUICK = { sizes: [1_000], dimensions: 256, queries: 5, exactQueries: [2] };
const TOPICS = 50;
const CANDIDATES = [25, 50, 100, 200, 400];
const EF_SEARCH = [20, 40, 100, 200];
const PROBES = [1, 5, 10, 20];

interface SizeResult {
    rows: number;
    dimensions: number;
    jsonb: {
        seedingMsPerRow: number;
        plainInsertMsPerRow: number;
        fast: SearchRun;
        filtered: SearchRun;
        exact: SearchRun;
        candidates: Record<number, SearchRun>;
    };
    vector: {
        seedingMsPerRow: number;
        indexBuildMs: number;
        ann: SearchRun;
        filtered: SearchRun;
        exact: SearchRun;
        efSearch: Record<number, SearchRun>;
        /** ivfflat built in place of hnsw at the largest size: lists, build time, and a run per probes value. */
        ivfflat?: { lists: number; buildMs: number; probes: Record<number, SearchRun> };
    };
    node: SearchRun;
}

export async function benchSimilarity(ctx: BenchContext, pg: BenchPostgres): Promise<PartResult> {
    const plan = ctx.quick ? QUICK : FULL;
    const results: SizeResult[] = [];
    for (const [position, rows] of plan.sizes.entries()) {
        const largest = position === plan.sizes.length - 1;
        ctx.progress(`similarity: ${rows} goals × ${plan.dimensions} dimensions from ${TOPICS} topics (seed 7), ${plan.queries} queries`);
        const data = topicEmbeddings({ count: rows, queries: plan.queries, dimensions: plan.dimensions, topics: TOPICS, seed: 7 });
        const truth = data.queries.map((query) => exactTopK(data.vectors, query, K).map(goalText));
        const mine = data.vectors.map((_, row) => row).filter((row) => ownerOf(row) === 0);
        const filteredTruth = data.queries.map((query) =>
            exactTopK(
                mine.map((row) => data.vectors[row]),
                query,
                K,
            ).map((index) => goalText(mine[index])),
        );
        const sets = { data, truth, filteredTruth, exactQueries: plan.exactQueries[position], largest };
        ctx.progress(`similarity: brute force in Node over ${rows} Float32Array rows`);
        const node = bruteForce(data, truth, range(data.queries.length));
        const jsonb = await measureJsonb(ctx, pg, sets);
        const vector = await measureVector(ctx, sets);
        results.push({ rows, dimensions: plan.dimensions, jsonb, vector, node });
    }
    return { rows: results.flatMap(rowsFor), figures: { topics: TOPICS, k: K, seed: 7, sizes: results.map(withoutSamples) } };
}

interface Sets {
    data: EmbeddingSet;
    truth: string[][];
    filteredTruth: string[][];
    exactQueries: number;
    largest: boolean;
}

async function measureJsonb(ctx: BenchContext, pg: BenchPostgres, sets: Sets): Promise<SizeResult["jsonb"]> {
    const { data, truth, filteredTruth } = sets;
    const database = await pg.createDatabase("similarity");
    const client = await connect(pg.settings(database));
    try {
        const jsonb = rendered(schemaOptions({ vector: false }));
        await applyMigrations(client, jsonb.migrations, { variant: jsonb.variant });
        const users = await createUsers(client);
        // The same insert into a copy of the table without the derivation trigger: what the trigger costs a writer.
        const sample = data.vectors.slice(0, 1000);
        await client.query("create table public.goal_assessments_plain (like public.goal_assessments including all)");
        const plain = await seedGoals(client, sample, users, { type: "jsonb", table: "goal_assessments_plain" });
        await client.query("drop table public.goal_assessments_plain");
        const seeding = await seedGoals(client, data.vectors, users, {
            type: "jsonb",
            progress: (row) => ctx.progress(`similarity: jsonb, seeding goal ${row + 1} of ${data.vectors.length}`),
        });
        await client.query("vacuum analyze public.goal_assessments");
        const user = await filteredUser(client);
        const all = range(data.queries.length);
        ctx.progress(`similarity: jsonb on PostgreSQL 15, match_goals over ${data.vectors.length} goals`);
        await searchRun(client, "select goal_text from public.match_goals($1, $2)", [K], data.queries, truth, all.slice(0, 3));
        const fast = await searchRun(client, "select goal_text from public.match_goals($1, $2)", [K], data.queries, truth, all);
        const filtered = await searchRun(
            client,
            "select goal_text from public.match_goals($1, $2, $3)",
            [K, user],
            data.queries,
            filteredTruth,
            all,
        );
        ctx.progress(`similarity: jsonb, exact => true for ${sets.exactQueries} queries (every row's cosine)`);
        const exact = await searchRun(
            client,
            "select goal_text from public.match_goals($1, $2, exact => true)",
            [K],
            data.queries,
            truth,
            all.slice(0, sets.exactQueries),
        );
        const candidates: Record<number, SearchRun> = {};
        if (sets.largest) {
            for (const count of CANDIDATES) {
                ctx.progress(`similarity: jsonb, candidates ${count}`);
                candidates[count] = await searchRun(
                    client,
                    "select goal_text from public.match_goals($1, $2, null, $3)",
                    [K, count],
                    data.queries,
                    truth,
                    all,
                );
            }
        }
        return {
            seedingMsPerRow: seeding / data.vectors.length,
            plainInsertMsPerRow: plain / sample.length,
            fast,
            filtered,
            exact,
            candidates,
        };
    } finally {
        await client.end().catch(() => undefined);
        await pg.dropDatabase(database);
    }
}

async function measureVector(ctx: BenchContext, sets: Sets): Promise<SizeResult["vector"]> {
    const { data, truth, filteredTruth } = sets;
    ctx.progress("similarity: starting PGlite with pgvector for the vector variant");
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
        const vector = rendered(schemaOptions({ vector: true, vectorDimensions: data.dimensions }));
        await applyMigrations(client, vector.migrations, { variant: vector.variant });
        // A bulk load: rows first, then the index it would have (0010_vector.sql's), built once.
        const { rows: index } = await client.query<{ definition: string }>(
            "select pg_get_indexdef('public.idx_goal_assessments_goal_vector'::regclass) as definition",
        );
        await client.query("drop index public.idx_goal_assessments_goal_vector");
        const seeding = await seedGoals(client, data.vectors, await createUsers(client), {
            type: "vector",
            progress: (row) => ctx.progress(`similarity: vector, seeding goal ${row + 1} of ${data.vectors.length}`),
        });
        ctx.progress("similarity: vector, building the hnsw index");
        await client.query("set maintenance_work_mem = '1GB'");
        const build = await timed(() => client!.query(index[0].definition));
        await client.query("analyze public.goal_assessments");
        const user = await filteredUser(client);
        const all = range(data.queries.length);
        ctx.progress(`similarity: vector on PGlite, match_goals over ${data.vectors.length} goals`);
        await searchRun(client, "select goal_text from public.match_goals($1, $2)", [K], data.queries, truth, all.slice(0, 3));
        const ann = await searchRun(client, "select goal_text from public.match_goals($1, $2)", [K], data.queries, truth, all);
        const filtered = await searchRun(
            client,
            "select goal_text from public.match_goals($1, $2, $3)",
            [K, user],
            data.queries,
            filteredTruth,
            all,
        );
        const exact = await searchRun(
            client,
            "select goal_text from public.match_goals($1, $2, exact => true)",
            [K],
            data.queries,
            truth,
            all.slice(0, sets.exactQueries),
        );
        const efSearch: Record<number, SearchRun> = {};
        let ivfflat: SizeResult["vector"]["ivfflat"];
        if (sets.largest) {
            for (const value of EF_SEARCH) {
                ctx.progress(`similarity: vector, ef_search ${value}`);
                efSearch[value] = await searchRun(
                    client,
                    "select goal_text from public.match_goals($1, $2, null, $3)",
                    [K, value],
                    data.queries,
                    truth,
                    all,
                );
            }
            // The same rows under vectorIndex: ivfflat (pgvector's advice: lists = rows / 1000), probes per call.
            const lists = Math.max(10, Math.round(data.vectors.length / 1000));
            ctx.progress(`similarity: vector, building an ivfflat index instead (lists ${lists})`);
            await client.query("drop index public.idx_goal_assessments_goal_vector");
            const ivfflatBuild = await timed(() =>
                client!.query(
                    `create index idx_goal_assessments_goal_vector on public.goal_assessments using ivfflat (goal_vector vector_cosine_ops) with (lists = ${lists})`,
                ),
            );
            const probes: Record<number, SearchRun> = {};
            for (const value of PROBES) {
                ctx.progress(`similarity: vector, ivfflat probes ${value}`);
                probes[value] = await searchRun(
                    client,
                    "select goal_text from public.match_goals($1, $2, null, $3)",
                    [K, value],
                    data.queries,
                    truth,
                    all,
                );
            }
            ivfflat = { lists, buildMs: ivfflatBuild.ms, probes };
        }
        return { seedingMsPerRow: seeding / data.vectors.length, indexBuildMs: build.ms, ann, filtered, exact, efSearch, ivfflat };
    } finally {
        await client?.end().catch(() => undefined);
        await server.stop();
    }
}

function rowsFor(result: SizeResult): Row[] {
    const { jsonb, vector, node } = result;
    const size = `${result.rows.toLocaleString("en-US")} × ${result.dimensions}`;
    const recallNote = (run: SearchRun) => `recall@${K} ${round(run.recall)}`;
    const rows: Row[] = [
        {
            part: "similarity",
            figure: `match_goals top-${K}, ${size}, jsonb (PostgreSQL 15, candidates 100)`,
            value: jsonb.fast.latency,
            unit: "ms",
            baseline: {
                label: `jsonb exact => true, n=${jsonb.exact.latencies.length}, ${recallNote(jsonb.exact)}`,
                value: jsonb.exact.latency,
            },
            ratio: ratio(jsonb.fast.latency, jsonb.exact.latency),
            repetitions: jsonb.fast.latencies.length,
            note: recallNote(jsonb.fast),
        },
        {
            part: "similarity",
            figure: `the same, one user's 30% of the rows (filter_user_id)`,
            value: jsonb.filtered.latency,
            unit: "ms",
            baseline: null,
            ratio: null,
            repetitions: jsonb.filtered.latencies.length,
            note: `${recallNote(jsonb.filtered)}; fewest rows returned ${jsonb.filtered.fewestRows}`,
        },
        {
            part: "similarity",
            figure: `match_goals top-${K}, ${size}, vector (PGlite, hnsw, ef_search 40)`,
            value: vector.ann.latency,
            unit: "ms",
            baseline: { label: `brute force in Node, Float32Array, ${recallNote(node)}`, value: node.latency },
            ratio: ratio(vector.ann.latency, node.latency),
            repetitions: vector.ann.latencies.length,
            note: `${recallNote(vector.ann)}; pgvector exact scan ${round(vector.exact.latency)} ms`,
        },
        {
            part: "similarity",
            figure: `the same, one user's 30% of the rows (filter_user_id)`,
            value: vector.filtered.latency,
            unit: "ms",
            baseline: null,
            ratio: null,
            repetitions: vector.filtered.latencies.length,
            note: `${recallNote(vector.filtered)}; fewest rows returned ${vector.filtered.fewestRows}`,
        },
        {
            part: "similarity",
            figure: `writing a goal, ${size}, jsonb: the trigger derives its copies`,
            value: jsonb.seedingMsPerRow,
            unit: "ms",
            baseline: { label: "the same insert without the trigger, first 1,000 rows", value: jsonb.plainInsertMsPerRow },
            ratio: ratio(jsonb.seedingMsPerRow, jsonb.plainInsertMsPerRow),
            note: `per row, 250 rows per insert; vector on PGlite: ${round(vector.seedingMsPerRow)} ms per row, hnsw build ${round(vector.indexBuildMs / 1000)} s`,
        },
    ];
    for (const [count, run] of Object.entries(jsonb.candidates)) {
        rows.push(trade(`jsonb, ${size}, candidates ${count}`, run, jsonb.fast));
    }
    for (const [value, run] of Object.entries(vector.efSearch)) {
        rows.push(trade(`vector, ${size}, ef_search ${value}`, run, vector.ann));
    }
    for (const [value, run] of Object.entries(vector.ivfflat?.probes ?? {})) {
        const { lists, buildMs } = vector.ivfflat!;
        rows.push(
            trade(
                `vector, ${size}, ivfflat (lists ${lists}), probes ${value}`,
                run,
                vector.ann,
                "hnsw, ef_search 40",
                `; ivfflat build ${round(buildMs / 1000)} s`,
            ),
        );
    }
    return rows;
}

function trade(label: string, run: SearchRun, reference: SearchRun, referenceLabel = "the default", note = ""): Row {
    return {
        part: "similarity",
        figure: `match_goals top-${K}, ${label} (per call)`,
        value: run.latency,
        unit: "ms",
        baseline: { label: referenceLabel, value: reference.latency },
        ratio: ratio(run.latency, reference.latency),
        repetitions: run.latencies.length,
        note: `recall@${K} ${round(run.recall)}${note}`,
    };
}

function withoutSamples(result: SizeResult): unknown {
    return JSON.parse(JSON.stringify(result, (key, value) => (key === "latencies" ? undefined : value)));
}
