// The redaction rule every message crosses on its way out (the CLI's streams and JSON, the providers'
// errors, config errors): known secrets are replaced, in every spelling a message could carry them
// (as typed, percent-encoded, JSON-escaped), and so is anything shaped like a credential — the
// password part of a URL, whatever characters it holds, and `password=…`.

export const MASK = "***";

// Shorter secrets would turn ordinary words into asterisks; they are still masked where they stand as credentials.
const MIN_SECRET_LENGTH = 3;

/** The URL with every credential masked: the user stays, the password (up to the last @) and ?password= go. */
export function maskUrl(url: string): string {
    const scheme = /^([a-z][a-z0-9+.-]*:)(\/\/)?/i.exec(url);
    if (scheme === null) {
        return maskCredentials(url);
    }
    const start = scheme[0].length;
    const at = url.lastIndexOf("@");
    let masked = url;
    if (at > start) {
        const userinfo = url.slice(start, at);
        const colon = userinfo.indexOf(":");
        masked = colon < 0 ? url : `${url.slice(0, start)}${userinfo.slice(0, colon)}:${MASK}${url.slice(at)}`;
    }
    return maskQueryPasswords(masked);
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
    const found: string[] = [];
    const scheme = /^[a-z][a-z0-9+.-]*:(\/\/)?/i.exec(url);
    const at = url.lastIndexOf("@");
    if (scheme !== null && at > scheme[0].length) {
        const userinfo = url.slice(scheme[0].length, at);
        const colon = userinfo.indexOf(":");
        if (colon >= 0) {
            found.push(userinfo.slice(colon + 1));
        }
    }
    for (const match of url.matchAll(/[?&](?:ssl)?password=([^&]*)/gi)) {
        found.push(match[1]);
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
