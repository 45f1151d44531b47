// Splits a migration file into top-level statements the way psql does, so the engine can run them one
// at a time and name the exact statement (and line) that failed. Semicolons inside quotes, comments,
// dollar-quoted bodies and `begin atomic … end` function bodies do not end a statement.

export interface Statement {
    /** The statement text, without its terminating semicolon. */
    text: string;
    /** 1-based line in the file where the statement starts. */
    line: number;
    /** 0-based index in the file where the statement starts. */
    offset: number;
}

export function splitStatements(sql: string): Statement[] {
    const statements: Statement[] = [];
    let start = 0;
    let i = 0;
    let words: string[] = []; // the first words of the current statement, lowercase
    let beginDepth = 0;
    let parenDepth = 0;
    const flush = (end: number) => {
        const raw = sql.slice(start, end);
        const lead = leadingNoise(raw);
        const text = raw.slice(lead).trimEnd();
        if (text !== "" && !isOnlyComments(text)) {
            statements.push({ text, offset: start + lead, line: lineAt(sql, start + lead) });
        }
        words = [];
        beginDepth = 0;
        parenDepth = 0;
    };
    while (i < sql.length) {
        const c = sql[i];
        const next = sql[i + 1];
        if (c === "-" && next === "-") {
            i = indexOrEnd(sql, "\n", i);
        } else if (c === "/" && next === "*") {
            i = skipBlockComment(sql, i);
        } else if (c === "'") {
            const escapes = /[eE]$/.test(sql.slice(Math.max(0, i - 1), i)) && !/[\w$]/.test(sql[i - 2] ?? "");
            i = skipQuoted(sql, i, "'", escapes);
        } else if (c === '"') {
            i = skipQuoted(sql, i, '"', false);
        } else if (c === "$" && !/[\w$]/.test(sql[i - 1] ?? "")) {
            const tag = /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/.exec(sql.slice(i));
            if (tag) {
                const close = sql.indexOf(tag[0], i + tag[0].length);
                i = close < 0 ? sql.length : close + tag[0].length;
            } else {
                i++;
            }
        } else if (/[A-Za-z_]/.test(c)) {
            const word = /^[A-Za-z_][A-Za-z0-9_$]*/.exec(sql.slice(i))![0].toLowerCase();
            words.push(word);
            // As psql: inside create function/procedure, begin…end (and case…end within it) nest, so a
            // `begin atomic` body's semicolons stay inside the statement.
            if (isRoutine(words) && parenDepth === 0) {
                if (word === "begin" || (word === "case" && beginDepth > 0)) {
                    beginDepth++;
                } else if (word === "end" && beginDepth > 0) {
                    beginDepth--;
                }
            }
            i += word.length;
        } else if (c === "(" || c === ")") {
            parenDepth += c === "(" ? 1 : -1;
            i++;
        } else if (c === ";" && beginDepth === 0) {
            flush(i);
            start = i + 1;
            i++;
        } else {
            i++;
        }
    }
    flush(sql.length);
    return statements;
}

/** Statements that manage transactions, which the engine owns: a migration must not contain them. */
export function isTransactionControl(statement: string): boolean {
    return /^(begin|commit|rollback|end|start\s+transaction|abort)\s*(work|transaction)?\s*$/i.test(statement.trim());
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

function isRoutine(words: string[]): boolean {
    if (words[0] !== "create") {
        return false;
    }
    const kind = words[1] === "or" && words[2] === "replace" ? words[3] : words[1];
    return kind === "function" || kind === "procedure";
}

function indexOrEnd(text: string, needle: string, from: number): number {
    const found = text.indexOf(needle, from);
    return found < 0 ? text.length : found + needle.length;
}

function skipBlockComment(text: string, from: number): number {
    let depth = 0;
    let i = from;
    while (i < text.length) {
        if (text.startsWith("/*", i)) {
            depth++;
            i += 2;
        } else if (text.startsWith("*/", i)) {
            depth--;
            i += 2;
            if (depth === 0) {
                return i;
            }
        } else {
            i++;
        }
    }
    return i;
}

function skipQuoted(text: string, from: number, quote: string, backslashEscapes: boolean): number {
    let i = from + 1;
    while (i < text.length) {
        if (backslashEscapes && text[i] === "\\") {
            i += 2;
        } else if (text[i] === quote) {
            if (text[i + 1] === quote) {
                i += 2; // doubled quote
            } else {
                return i + 1;
            }
        } else {
            i++;
        }
    }
    return i;
}

// Whitespace and comments before a statement belong to no statement; the reported line is its first code line.
function leadingNoise(raw: string): number {
    let i = 0;
    for (;;) {
        while (i < raw.length && /\s/.test(raw[i])) {
            i++;
        }
        if (raw.startsWith("--", i)) {
            i = indexOrEnd(raw, "\n", i);
        } else if (raw.startsWith("/*", i)) {
            i = skipBlockComment(raw, i);
        } else {
            return i;
        }
    }
}

function isOnlyComments(text: string): boolean {
    return leadingNoise(text) >= text.length;
}
