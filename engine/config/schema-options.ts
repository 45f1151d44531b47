// The options that shape the schema (variant, roles, rls), their defaults, and how requested options
// (the CLI's flags: absent is undefined, so a default never overrides what a database already has)
// resolve over a base. No zod here: a command with no schema flags does not load it (schema-keys.ts).
import type { SchemaOptions } from "../migrate/render";
import { ConfigError } from "./error";
import { isReservedRoleName, RESERVED_ROLE_RULE } from "./reserved";

export const DEFAULT_SCHEMA_OPTIONS: SchemaOptions = {
    vector: false,
    vectorDimensions: 1536,
    vectorIndex: "hnsw",
    rls: true,
    appRole: "memory_app",
    adminRole: "memory_admin",
};

export type SchemaRequest = Partial<SchemaOptions>;

/** The stack config's schema options, as the schema resource, the verification and the deploy guard take them. */
export function stackSchemaOptions(config: SchemaOptions): SchemaOptions {
    const { vector, vectorDimensions, vectorIndex, rls, appRole, adminRole } = config;
    return { vector, vectorDimensions, vectorIndex, rls, appRole, adminRole };
}

/**
 * The options `requested` asks for, over `base` (the defaults, or what the database already has), checked
 * together: the two roles differ, and neither is the owner the connection logs in as (the owner bypasses
 * row level security). A ConfigError names the requested option to change.
 */
export function resolveSchemaOptions(requested: SchemaRequest, base: SchemaOptions, owner: string): SchemaOptions {
    const options = { ...base, ...requested };
    // Without row level security no role is used: their names are not checked.
    if (!options.rls) {
        return options;
    }
    if (options.appRole === options.adminRole) {
        const key = requested.adminRole !== undefined ? "adminRole" : "appRole";
        const other = key === "appRole" ? "adminRole" : "appRole";
        // The other role may not have been given at all: say where its name comes from.
        const source =
            requested[other] !== undefined ? "" : base[other] === DEFAULT_SCHEMA_OPTIONS[other] ? ", its default" : ", as recorded";
        throw new ConfigError(
            key,
            options[key],
            `must differ from ${other} (${options[other]}${source}); choose another name for one of them`,
        );
    }
    for (const key of ["appRole", "adminRole"] as const) {
        if (requested[key] !== undefined && isReservedRoleName(requested[key])) {
            throw new ConfigError(key, requested[key], RESERVED_ROLE_RULE);
        }
        if (options[key] === owner) {
            // Not given: say where the name comes from.
            const source =
                requested[key] !== undefined ? "" : base[key] === DEFAULT_SCHEMA_OPTIONS[key] ? "its default, " : "as recorded, ";
            throw new ConfigError(
                key,
                options[key],
                `${source}must differ from the owner user (${owner}): the owner bypasses row level security`,
            );
        }
    }
    return options;
}
