// Reproducible embeddings and the exact answer to compare a search with. Values are rounded to 5
// decimals, and everything (ground truth included) uses the rounded values.

export interface EmbeddingSet {
    dimensions: number;
    vectors: Float64Array[];
    queries: Float64Array[];
}

/** mulberry32: a small, fast, seeded PRNG; the same seed gives the same data on every machine. */
export function prng(seed: number): () => number {
    let state = seed >>> 0;
    return () => {
        state = (state + 0x6d2b79f5) >>> 0;
        let t = state;
        t = Math.imul(t ^ (t >>> 15), t | 1);
        t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
        return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
}

/**
 * Embeddings from overlapping topics, not clusters: each mixes one to three of `topics` random
 * directions with random weights, adds a direction every embedding shares (text embeddings are not
 * centred on zero) and gaussian noise as strong as the mix, and is normalized. A query's true
 * neighbours share some of its topics and are separated from the next rows by small margins, and
 * queries are drawn the same way, never copies of rows. Rounded to 5 decimals like the rest.
 */
export function topicEmbeddings(options: {
    count: number;
    queries: number;
    dimensions: number;
    topics: number;
    seed: number;
}): EmbeddingSet {
    const random = prng(options.seed);
    const gaussian = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
    const { dimensions } = options;
    const direction = () => normalize(Float64Array.from({ length: dimensions }, gaussian));
    const topics = Array.from({ length: options.topics }, direction);
    const shared = direction();
    const noiseScale = 1 / Math.sqrt(dimensions);
    const one = () => {
        const mix = new Float64Array(dimensions);
        const count = 1 + Math.floor(random() * 3);
        for (let t = 0; t < count; t++) {
            const topic = topics[Math.floor(random() * topics.length)];
            const weight = 0.3 + random();
            for (let i = 0; i < dimensions; i++) mix[i] += weight * topic[i];
        }
        const unitMix = normalize(mix);
        return rounded(normalize(unitMix.map((x, i) => x + 0.5 * shared[i] + gaussian() * noiseScale)));
    };
    return {
        dimensions,
        vectors: Array.from({ length: options.count }, one),
        queries: Array.from({ length: options.queries }, one),
    };
}

/** The text both jsonb and pgvector parse: "[0.01234,-0.5,...]". */
export function embeddingText(vector: Float64Array): string {
    return `[${Array.from(vector).join(",")}]`;
}

/** Indexes of the k vectors most similar to `query` by cosine, best first (ties: lower index first). */
export function exactTopK(vectors: Float64Array[], query: Float64Array, k: number): number[] {
    const queryNorm = norm(query);
    const scored = vectors.map((vector, index) => {
        let dot = 0;
        for (let i = 0; i < vector.length; i++) dot += vector[i] * query[i];
        return { index, similarity: dot / (norm(vector) * queryNorm) };
    });
    scored.sort((a, b) => b.similarity - a.similarity || a.index - b.index);
    return scored.slice(0, k).map((item) => item.index);
}

/** |found ∩ truth| / |truth|. */
export function recall(found: readonly unknown[], truth: readonly unknown[]): number {
    const wanted = new Set(truth);
    return truth.length === 0 ? 1 : found.filter((item) => wanted.has(item)).length / truth.length;
}

function normalize(vector: Float64Array): Float64Array {
    const length = norm(vector);
    return vector.map((x) => x / length);
}

function rounded(vector: Float64Array): Float64Array {
    return vector.map((x) => Math.round(x * 1e5) / 1e5);
}

function norm(vector: Float64Array): number {
    let sum = 0;
    for (const x of vector) sum += x * x;
    return Math.sqrt(sum);
}
