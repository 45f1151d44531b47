// The redaction rule every message crosses on its way out (the CLI's streams and JSON, the providers'
// errors, config errors): known secrets are replaced, in every spelling a message could carry them
// (as typed, percent-encoded, JSON-escaped), and so is anything shaped like a credential — the
// password part of a URL, whatever characters it holds, and `password=…`.

export const MASK = "***";

// Shorter secrets would turn ordinary words into asterisks; they are still masked where they stand as credentials.
const MIN_SECRET_LENGTH = 3;

/** A URL's ?password= (or &sslpassword=) value: it runs to the next &, whatever it holds. */
const URL_PASSWORD_PARAMETER = /([?&](?:ssl)?password=)([^&]*)/gi;

/**
 * The URL with every credential masked, even when it does not parse: a ?password= value up to the next &,
 * then the password part, from the first colon after the scheme's // (or the string's first colon, when
 * there is no scheme://: "postgres:secret@host" may be either) to the last @; then what redact() masks in any text. A user name may go with the
 * password; a password never stays.
 */
export function maskUrl(url: string): string {
    const masked = url.replace(URL_PASSWORD_PARAMETER, `$1${MASK}`);
    const password = passwordSpan(masked);
    // The free-text rules too, for what is not a URL at all (a keyword=value string).
    return maskCredentials(password === undefined ? masked : `${masked.slice(0, password.start)}${MASK}${masked.slice(password.end)}`);
}

/** Where a URL's (or a URL-like string's) password would be: after the first userinfo colon, up to the last @. */
function passwordSpan(url: string): { start: number; end: number } | undefined {
    const at = url.lastIndexOf("@");
    const colon = url.indexOf(":", /^[a-z][a-z0-9+.-]*:\/\//i.exec(url)?.[0].length ?? 0);
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
    const found = [...url.matchAll(URL_PASSWORD_PARAMETER)].map((match) => match[2]);
    const withoutQueryPasswords = url.replace(URL_PASSWORD_PARAMETER, "$1");
    const password = passwordSpan(withoutQueryPasswords);
    if (password !== undefined) {
        found.push(withoutQueryPasswords.slice(password.start, password.end));
    }
    return found.flatMap((value) => [value, safeDecode(value)]).filter((value) => value.length > 0);
}

function maskCredentials(text: string): string {
    return (
        maskQueryPasswords(text)
            // scheme://user:password@ — the password may hold @ # / ? %: the last @ before whitespace ends it.
            .replace(/\b([a-z][a-z0-9+.-]*:\/\/)([^\s:@/?#"'<>]*):(\S*)@/gi, `$1$2:${MASK}@`)
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
        all.add(encodeURIComponent(secret));
        all.add(JSON.stringify(secret).slice(1, -1));
        all.add(JSON.stringify(JSON.stringify(secret)).slice(3, -3));
    }
    // Longest first, so a secret that contains another is masked whole.
    return [...all].filter((spelling) => spelling.length >= MIN_SECRET_LENGTH).sort((a, b) => b.length - a.length);
}

function safeDecode(value: string): string {
    try {
        return decodeURIComponent(value);
    } catch {
        return value;
    }
}
