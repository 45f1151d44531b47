// A name as a statement that a message suggests (a grant to paste into psql) writes it.
import { quoteIdentifier } from "./render";

// Keywords a role or database could plausibly be named, which a statement cannot take bare.
const BARE_REFUSED = new Set([
    "all",
    "current_role",
    "current_user",
    "default",
    "grant",
    "group",
    "none",
    "public",
    "role",
    "session_user",
    "table",
    "user",
]);

/** `name` as a statement a message suggests writes it: bare when PostgreSQL reads it back unchanged, else quoted. */
export function sqlName(name: string): string {
    return /^[a-z_][a-z0-9_]*$/.test(name) && !BARE_REFUSED.has(name) ? name : quoteIdentifier(name);
}
