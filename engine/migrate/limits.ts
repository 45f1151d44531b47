// pgvector's index limits, apart from render.ts so that `memory-stack --help` can quote them without
// loading the renderer.

/** pgvector indexes the vector type up to 2000 dimensions, halfvec up to 4000. */
export const MAX_VECTOR_INDEX_DIMENSIONS = 2000;
export const MAX_HALFVEC_INDEX_DIMENSIONS = 4000;
/** pgvector's ivfflat index over cosine distance (vector_cosine_ops, halfvec_cosine_ops) needs at least 2 dimensions. */
export const MIN_IVFFLAT_DIMENSIONS = 2;
