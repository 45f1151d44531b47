// SQL text as PostgreSQL itself reads it: the real parser (libpg-query, PostgreSQL 15's grammar compiled
// to WebAssembly) splits a file into its top-level statements and gives each one's parse tree, so the
// engine can run them one at a time and name the exact statement (and line) that failed, and so no
// code here recognizes SQL with regular expressions. Quotes, comments, dollar-quoted bodies and
// `begin atomic … end` bodies are the parser's business.

import { refusedInTransaction } from "./outside-transaction";
import { parsedAtBuild, type ParseTree, type StatementSpan } from "./parsed-at-build";

export interface Statement {
    /** The statement text, without leading comments or its terminating semicolon. */
    text: string;
    /** 1-based line in the file where the statement starts. */
    line: number;
    /** 0-based index in the file where the statement starts. */
    offset: number;
    /** The statement's node type, e.g. "CreateStmt", "TransactionStmt". */
    kind: string;
    /** PostgreSQL refuses it inside a transaction block (create index concurrently, vacuum, ...). */
    outsideTransaction: boolean;
    /** The parse tree of the statement (libpg-query's JSON), under its node type; for the shipped SQL, read when first asked for. */
    readonly node: Record<string, unknown>;
}

/** A file the parser refuses: the statement text is not PostgreSQL. */
export class SqlSyntaxError extends Error {
    constructor(
        readonly line: number,
        readonly reason: string,
    ) {
        super(`syntax error at line ${line}: ${reason}`);
        this.name = "SqlSyntaxError";
    }
}

// Loaded on first use: a command that parses no SQL (a no-op apply, status, plan), or only the shipped
// SQL the build parsed (parsed-at-build.ts), loads no parser.
let parser: Promise<typeof import("libpg-query")> | undefined;

/** The top-level statements of `sql`, in order. Throws SqlSyntaxError naming the line the parser stopped at. */
export async function splitStatements(sql: string): Promise<Statement[]> {
    const stored = parsedAtBuild(sql);
    if (stored !== undefined) {
        // The tree is read only if a caller asks for a statement's node.
        return statementsAt(sql, stored.spans, (index, kind) => stored.tree().stmts![index].stmt[kind]);
    }
    const tree = await parse(sql);
    return statementsAt(sql, statementSpans(sql, tree), (index, kind) => tree.stmts![index].stmt[kind]);
}

/** Where the parser put each statement of `sql`, in characters, and its node type (the build stores these for the shipped SQL). */
export function statementSpans(sql: string, tree: ParseTree): StatementSpan[] {
    const bytes = Buffer.from(sql, "utf8");
    // In ASCII text a byte offset is a character offset.
    const character = bytes.length === sql.length ? (offset: number) => offset : (offset: number) => characterOffset(bytes, offset);
    return (tree.stmts ?? []).map(({ stmt, stmt_location: location = 0, stmt_len: length = 0 }) => {
        const kind = Object.keys(stmt)[0];
        return [
            character(location),
            length === 0 ? sql.length : character(location + length),
            kind,
            refusedInTransaction(kind, stmt[kind]) ? 1 : 0,
        ];
    });
}

function statementsAt(sql: string, spans: StatementSpan[], node: (index: number, kind: string) => Record<string, unknown>): Statement[] {
    const lineOf = lineIndex(sql);
    return spans.map(([start, end, kind, outsideTransaction], index) => {
        const raw = sql.slice(start, end);
        const lead = leadingNoise(raw);
        return {
            text: raw.slice(lead).trimEnd(),
            offset: start + lead,
            line: lineOf(start + lead),
            kind,
            outsideTransaction: outsideTransaction === 1,
            get node() {
                return node(index, kind);
            },
        };
    });
}

/** lineAt for many offsets of one text: its line starts found once, each offset's line by binary search. */
function lineIndex(text: string): (offset: number) => number {
    const starts = [0];
    for (let at = text.indexOf("\n"); at >= 0; at = text.indexOf("\n", at + 1)) {
        starts.push(at + 1);
    }
    return (offset) => {
        let [low, high] = [0, starts.length - 1];
        while (low < high) {
            const middle = (low + high + 1) >> 1;
            if (starts[middle] <= offset) {
                low = middle;
            } else {
                high = middle - 1;
            }
        }
        return low + 1;
    };
}

async function parse(sql: string): Promise<ParseTree> {
    const { parseSync } = await (parser ??= import("libpg-query").then(async (module) => (await module.loadModule(), module)));
    try {
        return parseSync(sql) as ParseTree;
    } catch (error) {
        const details = (error as { sqlDetails?: { message?: string; cursorPosition?: number } }).sqlDetails;
        const at = details?.cursorPosition === undefined ? 0 : characterOffset(Buffer.from(sql, "utf8"), details.cursorPosition);
        throw new SqlSyntaxError(lineAt(sql, at), details?.message ?? (error as Error).message);
    }
}

/** Length of the whitespace and comments (block comments nest) before a statement's first token: its line is the reported one. */
function leadingNoise(raw: string): number {
    let i = 0;
    for (;;) {
        while (i < raw.length && /\s/.test(raw[i])) {
            i++;
        }
        if (raw.startsWith("--", i)) {
            const end = raw.indexOf("\n", i);
            i = end < 0 ? raw.length : end + 1;
        } else if (raw.startsWith("/*", i)) {
            let depth = 0;
            do {
                if (raw.startsWith("/*", i)) {
                    depth++;
                    i += 2;
                } else if (raw.startsWith("*/", i)) {
                    depth--;
                    i += 2;
                } else {
                    i++;
                }
            } while (depth > 0 && i < raw.length);
        } else {
            return i;
        }
    }
}

/** Statements that manage transactions, which the engine owns; savepoints are a migration's own business. */
export function isTransactionControl(statement: Statement): boolean {
    return (
        statement.kind === "TransactionStmt" &&
        [
            "TRANS_STMT_BEGIN",
            "TRANS_STMT_START",
            "TRANS_STMT_COMMIT",
            "TRANS_STMT_ROLLBACK",
            "TRANS_STMT_PREPARE",
            "TRANS_STMT_COMMIT_PREPARED",
            "TRANS_STMT_ROLLBACK_PREPARED",
        ].includes(String(statement.node.kind))
    );
}

/** The 1-based line of a 0-based offset. */
export function lineAt(text: string, offset: number): number {
    let line = 1;
    for (let i = 0; i < offset && i < text.length; i++) {
        if (text[i] === "\n") {
            line++;
        }
    }
    return line;
}

/** The parser counts bytes of UTF-8; JavaScript strings count UTF-16 units. */
function characterOffset(bytes: Buffer, byteOffset: number): number {
    return bytes.subarray(0, byteOffset).toString("utf8").length;
}
