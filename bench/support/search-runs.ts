// Seeding goals and timing searches for the similarity part: the same rows and queries for the
// jsonb variant (PostgreSQL 15), the vector variant (PGlite) and a brute-force scan in Node.
import type { Client } from "pg";
import { embeddingText, recall, type EmbeddingSet } from "./embeddings";
import { median, timed } from "./measure";

export const K = 10;
export const USERS = 100;
/** The user of the filtered searches owns 3 rows in 10 (the "one user owning 30%"). */
export const ownerOf = (row: number): number => (row % 10 < 3 ? 0 : 1 + (row % (USERS - 1)));
export const goalText = (row: number): string => `goal ${row}`;

/** The USERS users the goals belong to; returns their ids. */
export async function createUsers(client: Client): Promise<string[]> {
    const users = await client.query<{ id: string }>(
        `insert into public.users (email) select format('bench-%s@example.com', n) from generate_series(0, ${USERS - 1}) n returning id`,
    );
    return users.rows.map((row) => row.id);
}

/** Inserts the vectors as goals, 250 per statement, into `table` whose embedding column has `type`. Returns the ms it took. */
export async function seedGoals(
    client: Client,
    vectors: Float64Array[],
    users: string[],
    options: { type: "jsonb" | "vector"; table?: string; progress?: (row: number) => void },
): Promise<number> {
    const started = performance.now();
    for (let start = 0; start < vectors.length; start += 250) {
        if (start % 10_000 === 0) options.progress?.(start);
        const rows = vectors
            .slice(start, start + 250)
            .map((vector, offset) => `["${users[ownerOf(start + offset)]}","${goalText(start + offset)}","${embeddingText(vector)}"]`);
        await client.query(
            `insert into public.${options.table ?? "goal_assessments"} (user_id, agent_name, goal_text, goal_vector)
             select (r ->> 0)::uuid, 'bench', r ->> 1, (r ->> 2)::${options.type} from jsonb_array_elements($1::jsonb) r`,
            [`[${rows.join(",")}]`],
        );
    }
    return performance.now() - started;
}

/** The id of the user that owns 30% of the rows. */
export async function filteredUser(client: Client): Promise<string> {
    return (await client.query<{ user_id: string }>(`select user_id from public.goal_assessments where goal_text = $1`, [goalText(0)]))
        .rows[0].user_id;
}

export interface SearchRun {
    /** Median ms per call. */
    latency: number;
    /** Mean recall@K against the truth. */
    recall: number;
    /** The fewest rows a call returned. */
    fewestRows: number;
    latencies: number[];
}

/** Calls `sql` ($1 the query embedding) for the queries at `which`, each after `warmup` untimed calls in all. */
export async function searchRun(
    client: Client,
    sql: string,
    params: unknown[],
    queries: Float64Array[],
    truth: string[][],
    which: number[],
): Promise<SearchRun> {
    const latencies: number[] = [];
    let recalls = 0;
    let fewestRows = Infinity;
    for (const index of which) {
        const { ms, result } = await timed(() => client.query<{ goal_text: string }>(sql, [embeddingText(queries[index]), ...params]));
        latencies.push(ms);
        recalls += recall(
            result.rows.map((row) => row.goal_text),
            truth[index],
        );
        fewestRows = Math.min(fewestRows, result.rows.length);
    }
    return { latency: median(latencies), recall: recalls / which.length, fewestRows, latencies };
}

/** Top-K by cosine over Float32Array copies, as an application holding the embeddings in memory would. */
export function bruteForce(data: EmbeddingSet, truth: string[][], which: number[]): SearchRun {
    const vectors = data.vectors.map((vector) => Float32Array.from(vector));
    const norms = vectors.map((vector) => Math.sqrt(dot(vector, vector)));
    const latencies: number[] = [];
    let recalls = 0;
    for (const index of which) {
        const query = Float32Array.from(data.queries[index]);
        const started = performance.now();
        const queryNorm = Math.sqrt(dot(query, query));
        const best: { row: number; similarity: number }[] = [];
        for (let row = 0; row < vectors.length; row++) {
            const similarity = dot(vectors[row], query) / (norms[row] * queryNorm);
            if (best.length < K || similarity > best[best.length - 1].similarity) {
                best.push({ row, similarity });
                best.sort((a, b) => b.similarity - a.similarity);
                if (best.length > K) best.pop();
            }
        }
        latencies.push(performance.now() - started);
        recalls += recall(
            best.map((item) => goalText(item.row)),
            truth[index],
        );
    }
    return { latency: median(latencies), recall: recalls / which.length, fewestRows: K, latencies };
}

function dot(a: Float32Array, b: Float32Array): number {
    let sum = 0;
    for (let i = 0; i < a.length; i++) sum += a[i] * b[i];
    return sum;
}

export function range(count: number): number[] {
    return Array.from({ length: count }, (_, i) => i);
}
