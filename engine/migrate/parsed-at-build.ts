// The shipped SQL as the build parsed it: scripts/parse-shipped-sql.mjs ran the real parser over every
// migration rendered with each variant's default options, and over rollback.sql, and stored its output
// in dist/parsed-sql.json under the SHA-256 of the exact text. A text found there needs no parser at run
// time: loading the WebAssembly parser and parsing the files was a sixth of an apply's whole run. Any
// other text (other options, an edited file, an engine test's own SQL) is parsed as before.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { PACKAGE_ROOT } from "../paths";

/** libpg-query's parse output. */
export interface ParseTree {
    stmts?: { stmt: Record<string, Record<string, unknown>>; stmt_location?: number; stmt_len?: number }[];
}

export const PARSED_AT_BUILD: string = path.join(PACKAGE_ROOT, "dist", "parsed-sql.json");

let stored: Map<string, ParseTree> | undefined;

export function sqlKey(sql: string): string {
    return createHash("sha256").update(sql, "utf8").digest("hex");
}

/** The parser's output for exactly this text, when the build parsed it; undefined otherwise (or with no build). */
export function parsedAtBuild(sql: string): ParseTree | undefined {
    if (stored === undefined) {
        try {
            stored = new Map(Object.entries(JSON.parse(readFileSync(PARSED_AT_BUILD, "utf8")) as Record<string, ParseTree>));
        } catch {
            stored = new Map();
        }
    }
    return stored.get(sqlKey(sql));
}
