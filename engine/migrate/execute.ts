// Runs a SQL file statement by statement inside the caller's transaction, so a failure names the file,
// the statement, its line and the SQLSTATE instead of a bare driver error.
import type { QueryResult } from "pg";
import type { SqlClient } from "./ledger";
import { isLockTimeout } from "./bounded";
import { isConnectionLost } from "./lost-commit";
import { isCatalogMoved } from "./snapshot";
import { isTransactionControl, lineAt, splitStatements, SqlSyntaxError, type Statement } from "./statements";

export class SqlFileError extends Error {
    constructor(
        /** The migration file (or rollback.sql) that failed. */
        readonly file: string,
        /** 1-based line in the file where the failing statement (or the error position) is; 0 when the connection broke before the server said. */
        readonly line: number,
        /** The failing statement's text. */
        readonly statement: string,
        /** PostgreSQL's SQLSTATE, e.g. 42P07; undefined for a connection error. */
        readonly sqlState: string | undefined,
        readonly cause: unknown,
        outcome: string,
    ) {
        const error = cause as DatabaseErrorFields;
        const lines = [
            `${file} failed${line > 0 ? ` at line ${line}` : ""}${sqlState ? ` with SQLSTATE ${sqlState}` : ""}: ${error.message ?? String(cause)}`,
            ...(error.detail ? [`  detail: ${error.detail.split("\n").join("\n    ")}`] : []),
            ...(error.hint ? [`  hint: ${error.hint}`] : []),
            ...(error.where ? [`  where: ${error.where}`] : []),
            `  statement: ${excerpt(statement)}`,
            outcome,
        ];
        super(lines.join("\n"));
        this.name = "SqlFileError";
    }
}

interface DatabaseErrorFields {
    message?: string;
    code?: string;
    detail?: string;
    hint?: string;
    where?: string;
    position?: string;
}

/** untranslatable_character: the query's text has a character the database's encoding lacks. */
const UNTRANSLATABLE = "22P05";

/** no_active_sql_transaction: what rollback to savepoint says outside a transaction block. */
function noTransaction(error: unknown): boolean {
    return (error as DatabaseErrorFields)?.code === "25P01";
}

/** Splits a file for the engine; throws before anything runs when it is not valid SQL or holds transaction control. */
export async function parseSqlFile(file: string, sql: string): Promise<Statement[]> {
    let statements: Statement[];
    try {
        statements = await splitStatements(sql);
    } catch (error) {
        throw error instanceof SqlSyntaxError ? new Error(`${file} line ${error.line}: ${error.reason}; nothing was run`) : error;
    }
    const control = statements.find(isTransactionControl);
    if (control) {
        throw new Error(
            `${file} line ${control.line}: "${control.text}" — the engine runs each migration in its own transaction; remove begin/commit from the file`,
        );
    }
    // The engine's own statements are prepared on the migrating session (snapshot.ts, appeared.ts).
    const deallocates = statements.find((statement) => statement.kind === "DeallocateStmt" && statement.node.name === undefined);
    if (deallocates) {
        throw new Error(
            `${file} line ${deallocates.line}: "${deallocates.text}" — the engine keeps prepared statements of its own on the migrating session; deallocate only the ones the file prepared, by name`,
        );
    }
    // discard all deallocates them too, and releases the session's advisory locks: the migration lock among them (lock.ts).
    const discards = statements.find((statement) => statement.kind === "DiscardStmt" && statement.node.target === "DISCARD_ALL");
    if (discards) {
        throw new Error(
            `${file} line ${discards.line}: "${discards.text}" — it would release the migration lock memory-stack holds on the migrating session and deallocate its prepared statements; discard only what the file made (discard temp, discard plans, deallocate <name>)`,
        );
    }
    return statements;
}

/**
 * The refusal for a file that deallocated the engine's prepared statements where the parse cannot see it (`deallocate all` in a DO
 * block or a function it calls): the engine's next read of the catalog fails with "prepared statement … does not exist".
 */
export function deallocatedByFile(error: unknown, file: string, outcome: string): Error | undefined {
    if ((error as DatabaseErrorFields)?.code !== "26000" || !/\bmemory_stack_/.test(String((error as Error).message))) {
        return undefined;
    }
    return new Error(
        `${file} deallocated the prepared statements memory-stack keeps on the migrating session (deallocate all, in a DO block or a ` +
            `function it calls): deallocate only the ones the file prepared, by name. ${outcome}`,
        { cause: error },
    );
}

/**
 * Runs the statements in order on `client`, inside a transaction the caller opened and will roll back
 * on error. `outcome` is the last line of the error message: what the failure left behind.
 */
export async function runStatements(
    client: SqlClient,
    file: string,
    sql: string,
    statements: Pick<Statement, "text" | "line" | "offset">[],
    outcome: string,
): Promise<void> {
    for (const statement of statements) {
        await runStatement(client, file, sql, statement, outcome);
    }
}

/** Taken before a file runs, so a failing file can be run again statement by statement (runFile). */
export const FILE_SAVEPOINT = "savepoint memory_stack_file";

export interface RunFileOptions {
    /** FILE_SAVEPOINT was sent already, with the transaction's begin. */
    savepointTaken?: boolean;
    /** Statements to run right after the file, in the same round trip (the catalog read after it). */
    then?: string[];
    /** What to send as one query, when not the whole file (a step's statements). */
    text?: string;
    /** Statements to send first, in the same round trip (the transaction's begin, FILE_SAVEPOINT among them). */
    first?: string;
}

/**
 * Runs a whole file as one query, one round trip, inside the caller's transaction, and returns the
 * results of the query, `then`'s last (undefined without `then`, or when the file had to run again). When it fails, it runs
 * again statement by statement from a savepoint, so the error names the statement (and line) that
 * failed; a lock timeout or a lost connection is passed on as it is, for the caller to retry or report.
 */
export async function runFile(
    client: SqlClient,
    file: string,
    sql: string,
    statements: Pick<Statement, "text" | "line" | "offset">[],
    outcome: string,
    options: RunFileOptions = {},
): Promise<QueryResult<Record<string, unknown>>[] | undefined> {
    if (!options.savepointTaken) {
        await client.query(FILE_SAVEPOINT);
    }
    try {
        const text = `${options.first ? `${options.first};\n` : ""}${options.text ?? sql}`;
        if (options.then === undefined) {
            await client.query(text);
            return undefined;
        }
        // The file's last line may be a comment or a statement without its semicolon.
        const results = (await client.query(`${text}\n;\n${options.then.join(";\n")}`)) as unknown as QueryResult | QueryResult[];
        return Array.isArray(results) ? results : [results];
    } catch (error) {
        const fields = error as DatabaseErrorFields;
        if (isConnectionLost(error)) {
            // Nothing can run again on a broken connection: the file is named, its statement cannot be (line 0).
            throw new SqlFileError(file, 0, "(the whole file, sent as one query)", fields.code, error, outcome);
        }
        // The catalog check goes in `first` (apply-pending.ts): without it, the marker is the file's own error.
        if (isLockTimeout(error) || (options.first !== undefined && isCatalogMoved(error))) {
            throw error; // the caller retries the whole transaction (bounded.ts), or reads the catalog anew (apply-pending.ts)
        }
        // No savepoint when `first` failed before taking it (the begin's own statements: a retry's first lock, a cancel):
        // that error is the one to report, not the missing savepoint.
        const restored = await client.query("rollback to savepoint memory_stack_file").then(
            () => true,
            (rollbackError: unknown) => {
                if (options.first !== undefined && (error as DatabaseErrorFields).code === UNTRANSLATABLE && noTransaction(rollbackError)) {
                    return false;
                }
                throw error;
            },
        );
        if (!restored) {
            // The server could not convert the query's text to the database's encoding (a comment's "…" in a LATIN1 database): none
            // of it ran, `first`'s begin included. The statements alone, without the comments between them, may convert.
            await client.query(options.first!);
        }
        await runStatements(client, file, sql, statements, outcome);
        return undefined;
    }
}

/** Runs one statement of `file` (with `values` for its $n parameters) and returns its result; a failure is a SqlFileError. */
export async function runStatement(
    client: SqlClient,
    file: string,
    sql: string,
    statement: Pick<Statement, "text" | "line" | "offset">,
    outcome: string,
    values?: unknown[],
): Promise<QueryResult<Record<string, unknown>>> {
    try {
        return await client.query(statement.text, values);
    } catch (error) {
        const fields = error as DatabaseErrorFields;
        const position = Number(fields.position);
        // A parse error carries its position within the statement; point at that line, not the statement's first.
        const line = Number.isInteger(position) && position > 0 ? lineAt(sql, statement.offset + position - 1) : statement.line;
        throw new SqlFileError(file, line, statement.text, fields.code, error, outcome);
    }
}

function excerpt(statement: string): string {
    const oneLine = statement.replace(/\s+/g, " ").trim();
    return oneLine.length > 300 ? `${oneLine.slice(0, 297)}...` : oneLine;
}
