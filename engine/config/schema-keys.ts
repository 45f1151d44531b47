// The schema options as zod declares them: with their defaults for the stack config (config.ts), and
// as requests for the CLI's flags (parseSchemaRequest).
import { z } from "zod";
import { MAX_HALFVEC_INDEX_DIMENSIONS, MIN_IVFFLAT_DIMENSIONS } from "../migrate/limits";
import { ConfigError } from "./error";
import { DEFAULT_SCHEMA_OPTIONS, type SchemaRequest } from "./schema-options";
import { bool, identifier, int, oneOf } from "./values";

export const SCHEMA_OPTION_KEYS = {
    /** Embeddings as vector(N) with an ANN index instead of JSONB arrays. Default: false. */
    vector: bool().default(DEFAULT_SCHEMA_OPTIONS.vector),
    /** Embedding dimensions; with vector on at most 4000 (rules.ts). Default: 1536. */
    vectorDimensions: int(1, 16000).default(DEFAULT_SCHEMA_OPTIONS.vectorDimensions),
    /** ANN index kind. Default: hnsw. */
    vectorIndex: oneOf(["hnsw", "ivfflat"]).default(DEFAULT_SCHEMA_OPTIONS.vectorIndex),
    /** Row level security through auth.uid(). Default: true. */
    rls: bool().default(DEFAULT_SCHEMA_OPTIONS.rls),
    /** The RLS-subject application role. Default: memory_app (authenticated on Supabase). */
    appRole: identifier().default(DEFAULT_SCHEMA_OPTIONS.appRole),
    /** The role that sees everything. Default: memory_admin (service_role on Supabase). */
    adminRole: identifier().default(DEFAULT_SCHEMA_OPTIONS.adminRole),
};

const request = z.strictObject({
    vector: SCHEMA_OPTION_KEYS.vector.unwrap().optional(),
    // A request for dimensions comes with vector on, so the indexable limit is the limit.
    vectorDimensions: int(1, MAX_HALFVEC_INDEX_DIMENSIONS).optional(),
    vectorIndex: SCHEMA_OPTION_KEYS.vectorIndex.unwrap().optional(),
    rls: SCHEMA_OPTION_KEYS.rls.unwrap().optional(),
    appRole: SCHEMA_OPTION_KEYS.appRole.unwrap().optional(),
    adminRole: SCHEMA_OPTION_KEYS.adminRole.unwrap().optional(),
});

/** Requested schema options (strings as flags give them) → typed requests, or a ConfigError naming the option. */
export function parseSchemaRequest(values: Record<string, unknown>): SchemaRequest {
    const defined = Object.fromEntries(Object.entries(values).filter(([, value]) => value !== undefined));
    const result = request.safeParse(defined, { reportInput: true });
    if (!result.success) {
        const [issue] = result.error.issues;
        throw new ConfigError(issue.path.map(String).join("."), issue.input, issue.message);
    }
    const { vectorDimensions, vectorIndex } = result.data;
    // Here, not in the renderer: a database a release before this check left mid-switch with these options must still
    // roll back, show its status and finish nothing else through commands that take no flag.
    if (vectorIndex === "ivfflat" && vectorDimensions !== undefined && vectorDimensions < MIN_IVFFLAT_DIMENSIONS) {
        throw new ConfigError(
            "vectorDimensions",
            vectorDimensions,
            `pgvector's ivfflat index needs at least ${MIN_IVFFLAT_DIMENSIONS} dimensions for cosine distance; use --index hnsw`,
        );
    }
    return Object.fromEntries(Object.entries(result.data).filter(([, value]) => value !== undefined)) as SchemaRequest;
}
