// The options that shape the schema (variant, roles, rls): one declaration shared by the stack config
// (with defaults) and the CLI (as requests: a flag that is absent is undefined, so the options a
// database already has are not overridden by a default).
import { z } from "zod";
import { MAX_HALFVEC_INDEX_DIMENSIONS, type SchemaOptions } from "../migrate/render";
import { bool, ConfigError, identifier, int, oneOf } from "./values";

export const SCHEMA_OPTION_KEYS = {
    /** Embeddings as vector(N) with an ANN index instead of JSONB arrays. Default: false. */
    vector: bool().default(false),
    /** Embedding dimensions; with vector on at most 4000 (rules.ts). Default: 1536. */
    vectorDimensions: int(1, 16000).default(1536),
    /** ANN index kind. Default: hnsw. */
    vectorIndex: oneOf(["hnsw", "ivfflat"]).default("hnsw"),
    /** Row level security through auth.uid(). Default: true. */
    rls: bool().default(true),
    /** The RLS-subject application role. Default: memory_app (authenticated on Supabase). */
    appRole: identifier().default("memory_app"),
    /** The role that sees everything. Default: memory_admin (service_role on Supabase). */
    adminRole: identifier().default("memory_admin"),
};

export const DEFAULT_SCHEMA_OPTIONS: SchemaOptions = z.strictObject(SCHEMA_OPTION_KEYS).parse({});

export type SchemaRequest = Partial<SchemaOptions>;

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
    return Object.fromEntries(Object.entries(result.data).filter(([, value]) => value !== undefined)) as SchemaRequest;
}

/**
 * The options `requested` asks for, over `base` (the defaults, or what the database already has), checked
 * together: the two roles differ, and neither is the owner the connection logs in as (the owner bypasses
 * row level security). A ConfigError names the requested option to change.
 */
export function resolveSchemaOptions(requested: SchemaRequest, base: SchemaOptions, owner: string): SchemaOptions {
    const options = { ...base, ...requested };
    if (options.appRole === options.adminRole) {
        const key = requested.adminRole !== undefined ? "adminRole" : "appRole";
        throw new ConfigError(key, options[key], `must differ from ${key === "appRole" ? "adminRole" : "appRole"} (${options.adminRole})`);
    }
    for (const key of ["appRole", "adminRole"] as const) {
        if (options[key] === owner) {
            throw new ConfigError(key, options[key], `must differ from the owner user (${owner}): the owner bypasses row level security`);
        }
    }
    return options;
}
