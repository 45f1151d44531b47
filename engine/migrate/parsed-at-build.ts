// The shipped SQL as the build parsed it: scripts/parse-shipped-sql.mjs ran the real parser over every
// migration rendered with each variant's default options, and over rollback.sql. For each exact text
// (under its SHA-256) dist/parsed-sql.json holds where its statements are and what kind each is, and
// dist/parsed-sql/<sha256>.json the parser's whole output. A text found there needs no parser at run
// time: loading the WebAssembly parser and parsing the files was a sixth of an apply's whole run. A
// statement's parse tree is read only when something asks for it (the stepped migrations' checks): an
// apply reads the small index, not the trees of the files it runs whole. Any other text (other options,
// an edited file, an engine test's own SQL) is parsed as before.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { PACKAGE_ROOT } from "../paths";

/** libpg-query's parse output. */
export interface ParseTree {
    stmts?: { stmt: Record<string, Record<string, unknown>>; stmt_location?: number; stmt_len?: number }[];
}

/**
 * A statement's place in its text, in the units String.prototype.slice counts (the parser counts bytes), its node type, and
 * 1 when PostgreSQL refuses it inside a transaction block (refusedInTransaction), 0 otherwise.
 */
export type StatementSpan = [start: number, end: number, kind: string, outsideTransaction: 0 | 1];

/** The build's reading of one text: its statements' spans now, the whole parse tree when asked. */
export interface StoredParse {
    spans: StatementSpan[];
    tree(): ParseTree;
}

export const PARSED_AT_BUILD: string = path.join(PACKAGE_ROOT, "dist", "parsed-sql.json");
/** The directory of the parse trees, one file per text, named by its key. */
export const TREES_AT_BUILD: string = path.join(PACKAGE_ROOT, "dist", "parsed-sql");

let stored: Map<string, StatementSpan[]> | undefined;

export function sqlKey(sql: string): string {
    return createHash("sha256").update(sql, "utf8").digest("hex");
}

/** The path of the parse tree the build stored for the text with this key. */
export function treeFile(key: string): string {
    return path.join(TREES_AT_BUILD, `${key}.json`);
}

/** The build's reading of exactly this text, when the build parsed it; undefined otherwise (or with no build). */
export function parsedAtBuild(sql: string): StoredParse | undefined {
    if (stored === undefined) {
        try {
            stored = new Map(Object.entries(JSON.parse(readFileSync(PARSED_AT_BUILD, "utf8")) as Record<string, StatementSpan[]>));
        } catch {
            stored = new Map();
        }
    }
    const key = sqlKey(sql);
    const spans = stored.get(key);
    if (spans === undefined) {
        return undefined;
    }
    return { spans, tree: () => storedTree(key) };
}

const trees = new Map<string, ParseTree>();

function storedTree(key: string): ParseTree {
    let tree = trees.get(key);
    if (tree === undefined) {
        tree = JSON.parse(readFileSync(treeFile(key), "utf8")) as ParseTree;
        trees.set(key, tree);
    }
    return tree;
}
