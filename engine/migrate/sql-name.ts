// A name as a statement that a message suggests (a grant to paste into psql) writes it.
import { quoteIdentifier } from "./render";

// PostgreSQL 15's reserved keywords, and those that may name a function or type but not a database (its docs'
// Appendix C): bare, a pasted statement fails to parse or reads them as something else.
const BARE_REFUSED = new Set(
    (
        "all analyse analyze and any array as asc asymmetric both case cast check collate column constraint create " +
        "current_catalog current_date current_role current_time current_timestamp current_user default deferrable desc distinct " +
        "do else end except false fetch for foreign from grant group having in initially intersect into lateral leading limit " +
        "localtime localtimestamp not null offset on only or order placing primary references returning select session_user " +
        "some symmetric table then to trailing true union unique user using variadic when where window with " +
        "authorization binary collation concurrently cross current_schema freeze full ilike inner is isnull join left like " +
        "natural notnull outer overlaps right similar tablesample verbose"
    ).split(" "),
);

/** `name` as a statement a message suggests writes it: bare when PostgreSQL reads it back unchanged, else quoted. */
export function sqlName(name: string): string {
    return /^[a-z_][a-z0-9_]*$/.test(name) && !BARE_REFUSED.has(name) ? name : quoteIdentifier(name);
}
