// Values written into SQL text as literals, for statements sent together in one plain round trip (a simple
// query carries no parameters). pg's escapeLiteral quotes each one, backslashes and quotes included; what
// runs after a migration file's statements, which may have changed client_encoding, is ASCII alone (inlined).
import { escapeLiteral } from "./pg";

/** A text[] literal: array['a', 'b']::text[] (array[]::text[] when empty). */
export function textArray(values: readonly string[]): string {
    return `array[${values.map(escapeLiteral).join(", ")}]::text[]`;
}

/**
 * A statement of the engine's own with its $n parameters written in as literals, so it can share a
 * simple-query round trip with others (a commit). Only scalars: lists go as one jsonb value. Strings are
 * written in ASCII alone (asciiLiteral), so the statement means the same in any client_encoding.
 */
export function inlined(text: string, values: unknown[]): string {
    return text.replace(/\$(\d+)/g, (_, n: string) => {
        const value = values[Number(n) - 1];
        if (value === null || value === undefined) {
            return "null";
        }
        if (typeof value === "string") {
            return asciiLiteral(value);
        }
        if (typeof value === "number" && Number.isFinite(value)) {
            return `(${value})`;
        }
        if (typeof value === "boolean") {
            return String(value);
        }
        throw new Error(`inlined: $${n} is not a scalar`);
    });
}

// The server decodes a query in the session's client_encoding, which a migration file can change (set client_encoding):
// the bytes of a name written as they are could then read as other characters, and in a client-only encoding (GBK,
// SJIS) a character's last byte can swallow the backslash before a quote and end the literal early. So a literal is
// ASCII alone: an E'' string (backslashes doubled: the same whatever standard_conforming_strings or backslash_quote),
// or, for text with any other character, its UTF-8 bytes in hex, converted to the database's encoding (\u escapes
// would do for a UTF8 database, not for a SQL_ASCII one).
function asciiLiteral(text: string): string {
    if (/^[\x20-\x7e]*$/.test(text)) {
        return `E'${text.replaceAll("\\", "\\\\").replaceAll("'", "''")}'`;
    }
    return `pg_catalog.convert_from(pg_catalog.decode('${Buffer.from(text, "utf8").toString("hex")}', 'hex'), 'UTF8')`;
}
