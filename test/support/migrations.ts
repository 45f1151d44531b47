// Small migrations for engine tests, and a client wrapper that records every statement sent.
import { createHash } from "node:crypto";
import type { Client } from "pg";
import type { MigrationFile, SqlClient } from "../../engine/migrate/index";

export function migration(name: string, sql: string): MigrationFile {
    return { name, sql, checksum: createHash("sha256").update(sql).digest("hex") };
}

/** A client that sends through `client` and remembers each statement's text, in order. */
export function recording(client: Client): { client: SqlClient; statements: string[] } {
    const statements: string[] = [];
    const wrapped = {
        query: (text: unknown, values?: unknown) => {
            statements.push(typeof text === "string" ? text : (text as { text: string }).text);
            return client.query(text as string, values as unknown[]);
        },
    } as unknown as SqlClient;
    return { client: wrapped, statements };
}

/** Statements that change the schema or data, as opposed to reads, locks and session settings. */
export function writes(statements: string[]): string[] {
    return statements.filter((text) => !/^\s*(select|set)\b/i.test(text));
}
