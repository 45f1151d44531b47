// Renders the plain SQL files in sql/ into the migrations of one schema variant. Pure: no database.
//
// Placeholders (the whole set; anything else in {{...}} is an error naming file and placeholder):
//   {{app_role}}, {{admin_role}}            the role as a quoted identifier:  "memory_app"
//   {{app_role_name}}, {{admin_role_name}}  the role as a quoted string literal: 'memory_app'
//   {{vector_dimensions}}                   an integer 1..16000 (only in files that require vector)
//   {{vector_index}}                        hnsw or ivfflat     (only in files that require vector)
//   {{vector_ann_cast}}, {{vector_ann_ops}} how an embedding is indexed and compared (vector files only):
//                                           "" and vector_cosine_ops up to 2000 dimensions (pgvector's
//                                           limit for vector), "::halfvec(N)" and halfvec_cosine_ops above:
//                                           index `((goal_vector{{vector_ann_cast}}) {{vector_ann_ops}})`
//                                           and order by `goal_vector{{vector_ann_cast}} <=> q{{vector_ann_cast}}`
//
// A file whose header holds `-- requires: vector` (or `rls`, or both, comma separated) is
// rendered only when that option is on. The base files never depend on vector options, so a
// shared file renders to the same text (and checksum) in both variants, and switching a live
// jsonb stack to vector only adds the vector files.
import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { SQL_DIR } from "../paths";
import { MAX_VECTOR_INDEX_DIMENSIONS } from "./limits";
import { isRetired } from "./retired";
import { compareText } from "../compare";

export interface SchemaOptions {
    /** Embeddings as vector(N) with an ANN index (renders the `requires: vector` files). */
    vector: boolean;
    /** N in vector(N), 1..16000. */
    vectorDimensions: number;
    /** ANN index method for the embedding columns. */
    vectorIndex: "hnsw" | "ivfflat";
    /** Row level security (renders the `requires: rls` files). */
    rls: boolean;
    /** The role whose rows are limited to its own user_id. */
    appRole: string;
    /** The role that sees every row. */
    adminRole: string;
}

/** The options of a stack that sets none (the config's defaults), declared once with the schema options. */
export { DEFAULT_SCHEMA_OPTIONS } from "../config/schema-options";

export interface MigrationSource {
    /** File name like "0001_foundation.sql". */
    name: string;
    /** Raw text with placeholders. */
    text: string;
}

export interface Migration {
    name: string;
    /** Rendered SQL. */
    sql: string;
    /** sha256 hex of sql. */
    checksum: string;
}

const MIGRATION_FILE = /^\d{4}_[a-z0-9_]+\.sql$/;
const REQUIREMENTS = ["vector", "rls"] as const;
type Requirement = (typeof REQUIREMENTS)[number];
const VECTOR_PLACEHOLDERS = new Set(["vector_dimensions", "vector_index", "vector_ann_cast", "vector_ann_ops"]);
export { MAX_HALFVEC_INDEX_DIMENSIONS, MAX_VECTOR_INDEX_DIMENSIONS, MIN_IVFFLAT_DIMENSIONS } from "./limits";

export function loadMigrationSources(dir: string = SQL_DIR): MigrationSource[] {
    return readdirSync(dir)
        .filter((name) => MIGRATION_FILE.test(name))
        .sort()
        .map((name) => ({ name, text: readFileSync(path.join(dir, name), "utf8") }));
}

export function renderMigrations(sources: MigrationSource[], options: SchemaOptions): Migration[] {
    const values = placeholderValues(options);
    const seen = new Set<string>();
    const migrations: Migration[] = [];
    for (const source of [...sources].sort((a, b) => compareText(a.name, b.name))) {
        if (!MIGRATION_FILE.test(source.name)) {
            throw new Error(`migration file name ${JSON.stringify(source.name)} must look like NNNN_topic.sql (lowercase)`);
        }
        if (seen.has(source.name.slice(0, 4))) {
            throw new Error(`two migration files share the number ${source.name.slice(0, 4)} (${source.name}); give each its own`);
        }
        seen.add(source.name.slice(0, 4));
        const requires = requirements(source);
        if (requires.some((requirement) => !options[requirement])) continue;
        const sql = substitute(source, values, requires.includes("vector"));
        migrations.push({ name: source.name, sql, checksum: sha256(sql) });
    }
    return migrations;
}

/** sql/rollback.sql: the same for every variant, it drops what the ownership records list. */
export function loadRollbackSql(dir: string = SQL_DIR): string {
    return readFileSync(path.join(dir, "rollback.sql"), "utf8");
}

/** One checksum for a rendered set: changes when any file, its rendering or the set changes. Retired files do not count (retired.ts). */
export function schemaChecksum(migrations: Migration[]): string {
    return sha256(
        migrations
            .filter((m) => !isRetired(m.name))
            .map((m) => `${m.name} ${m.checksum}\n`)
            .join(""),
    );
}

/** The `-- requires: a, b` lines of the header (the leading comment block). */
export function requirements(source: MigrationSource): Requirement[] {
    const found: Requirement[] = [];
    for (const line of source.text.split("\n")) {
        const trimmed = line.trim();
        if (trimmed === "") continue;
        if (!trimmed.startsWith("--")) break;
        const match = /^--\s*requires:\s*(.+)$/.exec(trimmed);
        if (!match) continue;
        for (const item of match[1].split(",").map((s) => s.trim())) {
            if (!(REQUIREMENTS as readonly string[]).includes(item)) {
                throw new Error(
                    `${source.name}: unknown requirement ${JSON.stringify(item)} in its header; allowed: ${REQUIREMENTS.join(", ")}`,
                );
            }
            found.push(item as Requirement);
        }
    }
    return found;
}

function placeholderValues(options: SchemaOptions): Map<string, string> {
    const { vectorDimensions, vectorIndex, appRole, adminRole } = options;
    if (!Number.isInteger(vectorDimensions) || vectorDimensions < 1 || vectorDimensions > 16000) {
        throw new Error(`vectorDimensions ${JSON.stringify(vectorDimensions)} must be an integer from 1 to 16000`);
    }
    if (vectorIndex !== "hnsw" && vectorIndex !== "ivfflat") {
        throw new Error(`vectorIndex ${JSON.stringify(vectorIndex)} must be hnsw or ivfflat`);
    }
    checkRole("appRole", appRole);
    checkRole("adminRole", adminRole);
    if (appRole === adminRole) throw new Error(`adminRole ${JSON.stringify(adminRole)} must differ from appRole`);
    return new Map([
        ["app_role", quoteIdentifier(appRole)],
        ["admin_role", quoteIdentifier(adminRole)],
        ["app_role_name", quoteLiteral(appRole)],
        ["admin_role_name", quoteLiteral(adminRole)],
        ["vector_dimensions", String(vectorDimensions)],
        ["vector_index", vectorIndex],
        ["vector_ann_cast", vectorDimensions > MAX_VECTOR_INDEX_DIMENSIONS ? `::halfvec(${vectorDimensions})` : ""],
        ["vector_ann_ops", vectorDimensions > MAX_VECTOR_INDEX_DIMENSIONS ? "halfvec_cosine_ops" : "vector_cosine_ops"],
    ]);
}

// Role names land inside $$-quoted bodies too, so `$` is refused along with what no role name holds.
function checkRole(key: string, value: string): void {
    if (typeof value !== "string" || value.length === 0 || Buffer.byteLength(value) > 63 || value.includes("$") || value.includes("\0")) {
        throw new Error(`${key} ${JSON.stringify(value)} must be a role name of 1 to 63 bytes without "$" or NUL`);
    }
}

function substitute(source: MigrationSource, values: Map<string, string>, vectorFile: boolean): string {
    return source.text.replace(/\{\{\s*([^{}]*?)\s*\}\}/g, (_, key: string) => {
        const value = values.get(key);
        if (value === undefined) {
            throw new Error(
                `${source.name}: unknown placeholder {{${key}}}; known: ${[...values.keys()].map((k) => `{{${k}}}`).join(", ")}`,
            );
        }
        if (VECTOR_PLACEHOLDERS.has(key) && !vectorFile) {
            throw new Error(
                `${source.name}: {{${key}}} may only appear in a file whose header says "-- requires: vector", so shared files render the same in both variants`,
            );
        }
        return value;
    });
}

export function quoteIdentifier(name: string): string {
    return `"${name.replace(/"/g, '""')}"`;
}

export function quoteLiteral(value: string): string {
    return `'${value.replace(/'/g, "''")}'`;
}

function sha256(text: string): string {
    return createHash("sha256").update(text, "utf8").digest("hex");
}
