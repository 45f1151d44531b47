// Connection URLs, read the way libpq reads them, with pg-connection-string (the parser `pg` itself
// uses): percent-encoding, IPv6 hosts in brackets, ?password=, ?sslmode= (libpq's six modes, with
// their libpq meaning: see client.ts for prefer and allow), ?connect_timeout= and ?host= for a unix
// socket directory. The one URL module for the config, the CLI and the providers. A URL it cannot
// read is a ConnectionUrlError whose message shows the URL with every credential masked.
import { parse } from "pg-connection-string";
import { maskUrl } from "./redact";
import { rootCertificateSkipped } from "./root-cert";

export interface ConnectionSettings {
    /** Host name, IP address (IPv6 without brackets) or a unix socket directory (starts with /). */
    host: string;
    port: number;
    database: string;
    user: string;
    /** "" when the URL has none: the server is then asked without one (see client.ts). */
    password: string;
    /** libpq sslmode; "disable" for the local container. Absent: disable. */
    sslMode?: SslMode;
    /** libpq connect_timeout in seconds; 0 waits as long as the network does. Absent: the caller's default. */
    connectTimeoutSeconds?: number;
    /** libpq sslrootcert: the CA file the server's certificate is checked against in every mode that encrypts (root-cert.ts). */
    sslRootCert?: string;
}

export const SSL_MODES = ["disable", "allow", "prefer", "require", "verify-ca", "verify-full"] as const;
export type SslMode = (typeof SSL_MODES)[number];

/** The URL parameters libpq defines that this module honours; any other is refused rather than ignored. */
const PARAMETERS = ["host", "port", "dbname", "user", "password", "sslmode", "sslrootcert", "connect_timeout"];

export const URL_EXAMPLE = "postgresql://user:password@host:5432/database";
const ENCODING_HINT =
    "percent-encode these characters in a user, password or database name: @ as %40, # as %23, / as %2F, ? as %3F, : as %3A, % as %25, space as %20";

const SEVERAL_HOSTS = "names several hosts; name one (memory-stack migrates one server)";

/** Why sslrootcert=system (libpq 16: the system's CA store) is refused, and the two ways that work. */
export const SYSTEM_ROOTS_HINT =
    "memory-stack cannot read the system's CA store the way libpq 16 does: name the CA file (sslrootcert=/path/ca.crt), " +
    "or leave sslrootcert out with sslmode=verify-full, which checks the server's certificate against Node's trusted CAs";

/** What is wrong with a database URL; `shown` is the URL with every credential masked. */
export class ConnectionUrlError extends Error {
    constructor(
        message: string,
        readonly shown: string,
    ) {
        super(message);
        this.name = "ConnectionUrlError";
    }
}

/** What applies where the URL says nothing: libpq's PGPORT, PGCONNECT_TIMEOUT and PGSSLROOTCERT, for a command line. */
export type UrlDefaults = Partial<Pick<ConnectionSettings, "port" | "connectTimeoutSeconds" | "sslRootCert">>;

/** postgresql://user:password@host:port/database[?sslmode=…&connect_timeout=…] → settings; `defaults` fill what it leaves out. */
export function parseConnectionUrl(url: string, defaults: UrlDefaults = {}): ConnectionSettings {
    // A keyword=value string is not shown at all: an unquoted password in it may run past its first space.
    const keywordValue = !/^postgres(ql)?:\/\//i.test(url) && /^\s*\w+\s*=/.test(url);
    const shown = keywordValue ? "(not shown)" : maskUrl(url);
    const refuse = (message: string): never => {
        throw new ConnectionUrlError(message, shown);
    };
    // A URL quoted in a .env (the stack's dotenv quotes one with an &) reaches the environment quoted through `docker run --env-file`.
    if (/^\s*["']postgres(ql)?:\/\//i.test(url)) {
        refuse("is wrapped in quotes, which a shell or a dotenv library takes off but `docker run --env-file` keeps: give it without them");
    }
    if (/^\s+postgres(ql)?:\/\//i.test(url)) {
        refuse("starts with white space: give the URL without it");
    }
    if (!/^postgres(ql)?:\/\//i.test(url)) {
        refuse(
            keywordValue
                ? `is a keyword=value string; give a URL: ${URL_EXAMPLE}`
                : `must start with postgresql:// or postgres://, as in ${URL_EXAMPLE}`,
        );
    }
    // A URL parser reads # as the start of a fragment and drops the rest, where libpq keeps it: never guess.
    if (url.includes("#")) {
        refuse(`holds a raw #; ${ENCODING_HINT}`);
    }
    if (/%(?![0-9a-f]{2})/i.test(url)) {
        refuse(`holds a % that does not start a percent-encoded byte (%XX); ${ENCODING_HINT}`);
    }
    // libpq 16 reads sslrootcert=system as the system's CA store; the parser would open a file named "system".
    // libpq compares the value once decoded: sslrootcert=%73ystem is the store too.
    if ([...url.matchAll(/[?&]sslrootcert=([^&]*)/g)].some((match) => decoded(match[1]) === "system")) {
        refuse(`has sslrootcert=system; ${SYSTEM_ROOTS_HINT}`);
    }
    // libpq's multi-host form (h1:5432,h2:5433) fails the URL parser on its port; said as what it is, not as an encoding problem.
    const authority = /^[a-z]+:\/\/([^/?]*)/i.exec(url)![1];
    if (authority.slice(authority.lastIndexOf("@") + 1).includes(",")) {
        refuse(SEVERAL_HOSTS);
    }
    // The parser reads the URL's sslrootcert and fails on a missing file, which libpq passes over outside verify-ca and
    // verify-full (root-cert.ts): the parser is then given the pair empty, and connect() applies libpq's rule.
    const rootCert = lastQueryValue(url, "sslrootcert");
    const passedOver = rootCert && rootCertificateSkipped(rootCert, lastQueryValue(url, "sslmode"));
    let parsed: ReturnType<typeof parse>;
    try {
        // libpq keeps a + in a query value as it is; the parser's URLSearchParams would read it as a space (?password=a+b).
        parsed = parse(
            url.replace(/\?.*$/s, (query) => (passedOver ? query.replace(/([?&]sslrootcert=)[^&]*/g, "$1") : query).replace(/\+/g, "%2B")),
            { useLibpqCompat: true },
        );
    } catch (error) {
        const { code, message } = error as { code?: string; message?: string };
        if (message?.includes("verify-ca")) {
            return refuse("has sslmode=verify-ca without sslrootcert; name the CA file (sslrootcert=/path/ca.crt) or use verify-full");
        }
        return refuse(
            code?.startsWith("E") && code !== "ERR_INVALID_URL"
                ? `names an SSL file that cannot be read (${code})`
                : `cannot be read as a URL (${URL_EXAMPLE}); ${ENCODING_HINT}`,
        );
    }
    // user:pass@word/x@host/db reads as the host "word" and the database "x@host/db", which messages and the stack's
    // outputs would show; the masking rule takes the password to the last @. An @ after the host is never guessed at.
    if (/^[^?]*@/.test(url.replace(/^[a-z][a-z0-9+.-]*:\/\/[^/?]*/i, ""))) {
        refuse(
            `holds an @ after the host: a password with @ and / in it, or a database name with @, must be percent-encoded; ${ENCODING_HINT}`,
        );
    }
    // Keys the parser derives itself, beside the URL's own parameters.
    const params = parsed as Record<string, string | null | undefined>;
    const unknown = Object.keys(params).filter((key) => !PARAMETERS.includes(key) && !["database", "ssl"].includes(key));
    if (unknown.length > 0) {
        // Named only as the masked URL shows it: a key that is not a plain word is a mangled URL, and a word after a
        // raw & in ?password= is part of the password (masked there), not a parameter.
        const named = !/^[a-z_]+$/i.test(unknown[0])
            ? "a parameter that is not a key=value pair"
            : new RegExp(`[?&]${unknown[0]}(=|&|$)`).test(shown)
              ? `the parameter ${unknown[0]}`
              : "a parameter after a raw & in the password (percent-encode & in a password as %26)";
        refuse(`has ${named}, which memory-stack does not use; it understands ${PARAMETERS.join(", ")}`);
    }
    // libpq refuses these where the parser reads on: ?password=a=b as the password "a=b", ?&sslmode=… past the empty pair.
    const pairs = /\?(.*)$/s.exec(url)?.[1].split("&") ?? [];
    if (pairs.some((pair) => pair.split("=").length > 2)) {
        refuse("has a query parameter with a second =, which libpq refuses: percent-encode = in a value as %3D");
    }
    if (pairs.slice(0, -1).some((pair) => pair === "")) {
        refuse("has an empty query parameter (&& or ?&), which libpq refuses: remove the extra &");
    }
    const host = parsed.host ?? "";
    const database = params.dbname ?? databaseFrom(url) ?? parsed.database ?? "";
    if (host === "" || database === "" || !parsed.user) {
        refuse(`must name a user, a host and a database: ${URL_EXAMPLE}`);
    }
    if (host.includes(",")) {
        refuse(SEVERAL_HOSTS);
    }
    const port = parsed.port === undefined || parsed.port === null || parsed.port === "" ? (defaults.port ?? 5432) : Number(parsed.port);
    if (!Number.isInteger(port) || port < 1 || port > 65535) {
        refuse("has a port outside 1-65535");
    }
    const sslMode = params.sslmode ?? undefined;
    if (sslMode !== undefined && !(SSL_MODES as readonly string[]).includes(sslMode)) {
        refuse(
            `has ${shown.includes(`sslmode=${sslMode}`) ? `sslmode=${sslMode}` : "an sslmode"}; sslmode must be one of ${SSL_MODES.join(", ")}`,
        );
    }
    const timeout = params.connect_timeout ?? undefined;
    if (timeout !== undefined && (!/^-?\d+$/.test(timeout.trim()) || Math.abs(Number(timeout)) > 2 ** 31 - 1)) {
        refuse(
            `has ${shown.includes(`connect_timeout=${timeout}`) ? `connect_timeout=${timeout}` : "a connect_timeout"}; it is a whole number of seconds (at most 2147483647, as libpq reads it)`,
        );
    }
    const timeoutSeconds = timeout !== undefined ? Number(timeout) : defaults.connectTimeoutSeconds;
    const sslRootCert = (passedOver ? rootCert : params.sslrootcert) || defaults.sslRootCert;
    return {
        host,
        port,
        database,
        user: parsed.user!,
        password: parsed.password ?? "",
        ...(sslMode === undefined ? {} : { sslMode: sslMode as SslMode }),
        ...(timeoutSeconds === undefined ? {} : { connectTimeoutSeconds: connectTimeout(timeoutSeconds) }),
        ...(sslRootCert ? { sslRootCert } : {}),
    };
}

/**
 * The database named by the URL's path, every %XX decoded as libpq decodes it; pg-connection-string's
 * decodeURI keeps %2F, %23, %3F, %40, %3A and the other reserved escapes as they are. The path is read
 * raw with the URL parser pg-connection-string uses (an empty host, `@/db?host=/socket`, given a
 * stand-in). Undefined when there is no path.
 */
function databaseFrom(url: string): string | undefined {
    const spaced = url.replace(/ /g, "%20");
    for (const candidate of [spaced, spaced.replace("@/", "@stand-in/")]) {
        try {
            return decodeURIComponent(new URL(candidate).pathname.slice(1)) || undefined;
        } catch {
            // the next candidate, else the parser's reading
        }
    }
    return undefined;
}

/** The value of the URL's last `key=` query pair, decoded as libpq decodes it; undefined without one. */
function lastQueryValue(url: string, key: string): string | undefined {
    const raw = [...url.matchAll(new RegExp(`[?&]${key}=([^&]*)`, "g"))].at(-1)?.[1];
    return raw === undefined ? undefined : decoded(raw);
}

/** A query value as libpq reads it; undefined when its %XX bytes are no UTF-8. */
function decoded(value: string): string | undefined {
    try {
        return decodeURIComponent(value);
    } catch {
        return undefined;
    }
}

/** libpq's reading of connect_timeout: 0 or less waits indefinitely, and 1 counts as 2. */
function connectTimeout(seconds: number): number {
    return seconds <= 0 ? 0 : Math.max(seconds, 2);
}

/** The URL for these settings, every part encoded so that parseConnectionUrl gives the same settings back. */
export function connectionUrl(settings: ConnectionSettings): string {
    const auth = `${encodePart(settings.user)}${settings.password === "" ? "" : `:${encodePart(settings.password)}`}`;
    const socket = settings.host.startsWith("/");
    const host = socket ? "" : settings.host.includes(":") ? `[${settings.host}]` : settings.host;
    const query = [
        ...(socket ? [`host=${encodePart(settings.host)}`] : []),
        ...(settings.sslMode && settings.sslMode !== "disable" ? [`sslmode=${settings.sslMode}`] : []),
        ...(settings.connectTimeoutSeconds !== undefined ? [`connect_timeout=${settings.connectTimeoutSeconds}`] : []),
        ...(settings.sslRootCert ? [`sslrootcert=${encodePart(settings.sslRootCert)}`] : []),
    ];
    const path = `/${encodePart(settings.database)}`;
    return `postgresql://${auth}@${host}${socket ? "" : `:${settings.port}`}${path}${query.length > 0 ? `?${query.join("&")}` : ""}`;
}

/**
 * encodeURIComponent, and also ' ( ) ! * (which it leaves as they are): the URL goes into .env lines that a
 * shell sources (`set -a; . ./.env`), where a quote or a parenthesis would break the line.
 */
function encodePart(value: string): string {
    return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** user@host:port/database: how messages name a connection (no password, ever). */
export function describeTarget(settings: Pick<ConnectionSettings, "user" | "host" | "port" | "database">): string {
    const host = settings.host.includes(":") ? `[${settings.host}]` : settings.host;
    return `${settings.user}@${host}:${settings.port}/${settings.database}`;
}
