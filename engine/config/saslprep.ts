// SCRAM-SHA-256 logins hash a password after SASLprep (RFC 4013): non-ASCII spaces become spaces, a few
// invisible characters go, then NFKC (™ becomes TM, ﬁ becomes fi, full-width letters plain ones). Clients
// disagree on it: PostgreSQL stores the verifier of the prepared form, but keeps the raw one when SASLprep
// refuses the string (an emoji, unassigned in its Unicode 3.2 tables); pg always prepares; lib/pq (the
// postgresql provider), JDBC and others never do. A password SASLprep leaves as it is means the same to all.

// RFC 3454 C.1.2, non-ASCII spaces, mapped to a space; B.1, mapped to nothing.
const NON_ASCII_SPACE = /[\u00A0\u1680\u2000-\u200B\u202F\u205F\u3000]/g;
// eslint-disable-next-line no-misleading-character-class
const MAPPED_TO_NOTHING = /[\u00AD\u034F\u1806\u180B-\u180D\u200C\u200D\u2060\uFE00-\uFE0F\uFEFF]/g;

/** True when SASLprep's mapping or NFKC would change the password, so that some client fails to log in with it. */
export function saslprepChanges(password: string): boolean {
    return password.replace(NON_ASCII_SPACE, " ").replace(MAPPED_TO_NOTHING, "").normalize("NFKC") !== password;
}
