// The redaction rule every message crosses on its way out (the CLI's streams and JSON, the providers'
// errors, config errors): known secrets are replaced, in every spelling a message could carry them
// (as typed, percent-encoded, JSON-escaped), and so is anything shaped like a credential — the
// password part of a URL, whatever characters it holds, and `password=…`.

export const MASK = "***";

const EXAMPLE_CREDENTIALS = "user:password";

// Shorter secrets would turn ordinary words into asterisks; they are still masked where they stand as credentials.
const MIN_SECRET_LENGTH = 3;

// libpq's connection parameters (and pg's `ssl`): in a URL that does not parse, a ?password= value runs to
// the next & that starts one of these, since a raw & (or `x=`) may be part of the password.
const PARAMETERS = new Set(
    (
        "host hostaddr port dbname user password passfile channel_binding connect_timeout client_encoding options " +
        "application_name fallback_application_name keepalives keepalives_idle keepalives_interval keepalives_count " +
        "tcp_user_timeout replication gssencmode sslmode sslnegotiation sslcompression sslcert sslkey sslpassword sslcertmode " +
        "sslrootcert sslcrl sslcrldir sslsni requirepeer ssl_min_protocol_version ssl_max_protocol_version krbsrvname gsslib " +
        "gssdelegation service target_session_attrs load_balance_hosts ssl"
    ).split(" "),
);
const SECRET_PARAMETERS = new Set(["password", "sslpassword"]);

/** Where the values of a URL's ?password= and ?sslpassword= are, their names read percent-decoded as libpq reads them. */
function passwordParameters(url: string): { start: number; end: number }[] {
    const keys = [...url.matchAll(/[?&]([^=&?\s]*)=/g)].map((match) => ({
        at: match.index,
        valueAt: match.index + match[0].length,
        name: safeDecode(match[1]).toLowerCase(),
    }));
    return keys
        .filter((key) => SECRET_PARAMETERS.has(key.name))
        .map((key) => ({
            start: key.valueAt,
            end: keys.find((next) => next.at >= key.valueAt && PARAMETERS.has(next.name))?.at ?? url.length,
        }));
}

/** `url` with the spans masked (in order, not overlapping). */
function masking(url: string, spans: { start: number; end: number }[]): string {
    let result = "";
    let from = 0;
    for (const span of spans) {
        result += `${url.slice(from, span.start)}${MASK}`;
        from = span.end;
    }
    return result + url.slice(from);
}

/**
 * The URL with every credential masked, even when it does not parse: each ?password= value (see
 * passwordParameters), then the password part, from the first colon after the scheme's // (or the
 * string's first colon, when there is no scheme://: "postgres:secret@host" may be either) to the last @,
 * or, with no @ at all, what follows a colon in the authority that is not a port's
 * ("postgresql://user:secret/db"); then what redact() masks in any text. A user name may go with the
 * password; a password never stays.
 */
export function maskUrl(url: string): string {
    const masked = masking(url, passwordParameters(url));
    const password = passwordSpan(masked);
    // The free-text rules too, for what is not a URL at all (a keyword=value string).
    return maskCredentials(password === undefined ? masked : masking(masked, [password]));
}

/** Where a URL's (or a URL-like string's) password would be: after the first userinfo colon, up to the last @; without an @, see maskUrl. */
function passwordSpan(url: string): { start: number; end: number } | undefined {
    const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(url)?.[0].length;
    const at = url.lastIndexOf("@");
    if (at < 0) {
        if (scheme === undefined) {
            return undefined;
        }
        const authority = url.slice(scheme).split(/[/?]/, 1)[0];
        const colon = authority.indexOf(":");
        return authority.startsWith("[") || colon < 0 || /^\d*$/.test(authority.slice(colon + 1))
            ? undefined
            : { start: scheme + colon + 1, end: scheme + authority.length };
    }
    const colon = url.indexOf(":", scheme ?? 0);
    return colon >= 0 && colon < at ? { start: colon + 1, end: at } : undefined;
}

/** `text` with each secret and each credential-shaped part masked. */
export function redact(text: string, secrets: Iterable<string | undefined> = []): string {
    let result = text;
    for (const spelling of spellings(secrets)) {
        result = result.split(spelling).join(MASK);
    }
    return maskCredentials(result);
}

/** A redactor bound to the secrets one run knows (a URL's password, PGPASSWORD, a stack password). */
export function redactor(secrets: Iterable<string | undefined>): (text: string) => string {
    const known = [...secrets];
    return (text) => redact(text, known);
}

/** The candidates for a password in a URL that may not parse: what a reader could take for one. */
export function urlSecrets(url: string): string[] {
    const parameters = passwordParameters(url);
    const found = parameters.map((span) => url.slice(span.start, span.end));
    const rest = masking(url, parameters);
    const password = passwordSpan(rest);
    if (password !== undefined) {
        found.push(rest.slice(password.start, password.end));
    }
    return found.flatMap((value) => [value, safeDecode(value)]).filter((value) => value.length > 0);
}

function maskCredentials(text: string): string {
    return (
        maskQueryPasswords(text)
            // scheme://user:password@ — the password may hold @ # / ? %: the last @ before whitespace ends it.
            .replace(/\b([a-z][a-z0-9+.-]*:\/\/)([^\s:@/?#"'<>]*):(\S*)@/gi, (whole, scheme: string, user: string, password: string) =>
                // The example every hint shows (url.ts URL_EXAMPLE) says where the password goes.
                `${user}:${password}` === EXAMPLE_CREDENTIALS ? whole : `${scheme}${user}:${MASK}@`,
            )
            // postgresql:user:password@host, a URL without its slashes.
            .replace(/\b(postgres(?:ql)?:)(?!\/\/)([^\s:@/"'<>]*):(\S*)@/gi, `$1$2:${MASK}@`)
            // keyword=value strings, the environment and JSON: password=secret, PGPASSWORD='se cret', "password":"secret".
            .replace(/(\b|PG)((?:ssl)?password\s*=\s*)('(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|[^\s&,;]+)/gi, `$1$2${MASK}`)
            .replace(/("(?:ssl)?password"\s*:\s*)"(?:[^"\\]|\\.)*"/gi, `$1"${MASK}"`)
    );
}

function maskQueryPasswords(text: string): string {
    return text.replace(/([?&](?:ssl)?password=)[^&\s"']*/gi, `$1${MASK}`);
}

function spellings(secrets: Iterable<string | undefined>): string[] {
    const all = new Set<string>();
    for (const secret of secrets) {
        if (secret === undefined || secret.length < MIN_SECRET_LENGTH) {
            continue;
        }
        all.add(secret);
        // encodeURIComponent throws on a lone surrogate; the other spellings still hold.
        all.add(wellFormed(secret) ? encodeURIComponent(secret) : secret);
        all.add(JSON.stringify(secret).slice(1, -1));
        all.add(JSON.stringify(JSON.stringify(secret)).slice(3, -3));
    }
    // Longest first, so a secret that contains another is masked whole.
    return [...all].filter((spelling) => spelling.length >= MIN_SECRET_LENGTH).sort((a, b) => b.length - a.length);
}

/** No lone UTF-16 surrogate, which no URL or UTF-8 file can carry (String#isWellFormed, not in Node 20's TypeScript lib). */
export function wellFormed(text: string): boolean {
    return !/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(text);
}

function safeDecode(value: string): string {
    try {
        return decodeURIComponent(value);
    } catch {
        return value;
    }
}
