// Plain connection settings shared by the engines, the dynamic resources and the outputs.
import type { ClientConfig } from "pg";

export interface ConnectionSettings {
    host: string;
    port: number;
    database: string;
    user: string;
    password: string;
    /** libpq sslmode; "disable" for the local container. */
    sslMode?: SslMode;
}

export const SSL_MODES = ["disable", "prefer", "require", "verify-ca", "verify-full"] as const;
export type SslMode = (typeof SSL_MODES)[number];

/** What is wrong with a database URL; `shown` is a part of the URL that is safe to print (never the password). */
export class ConnectionUrlError extends Error {
    constructor(
        message: string,
        readonly shown?: string,
    ) {
        super(message);
        this.name = "ConnectionUrlError";
    }
}

/** postgresql://user:password@host:port/database[?sslmode=…] → settings; password "" when the URL has none. */
export function parseConnectionUrl(url: string): ConnectionSettings {
    let parsed: URL;
    try {
        parsed = new URL(url);
    } catch {
        throw new ConnectionUrlError("is not a URL; expected postgresql://user:password@host:5432/database");
    }
    if (parsed.protocol !== "postgresql:" && parsed.protocol !== "postgres:") {
        throw new ConnectionUrlError("must start with postgresql:// or postgres://", `${parsed.protocol}//…`);
    }
    const database = decodeURIComponent(parsed.pathname.replace(/^\//, ""));
    if (!parsed.hostname || !database || !parsed.username) {
        throw new ConnectionUrlError("must name a user, a host and a database: postgresql://user:password@host:5432/database");
    }
    const sslMode = parsed.searchParams.get("sslmode");
    if (sslMode !== null && !(SSL_MODES as readonly string[]).includes(sslMode)) {
        throw new ConnectionUrlError(`sslmode must be one of ${SSL_MODES.join(", ")}`, `…?sslmode=${sslMode}`);
    }
    return {
        host: parsed.hostname,
        port: parsed.port === "" ? 5432 : Number(parsed.port),
        database,
        user: decodeURIComponent(parsed.username),
        password: decodeURIComponent(parsed.password),
        ...(sslMode === null ? {} : { sslMode: sslMode as SslMode }),
    };
}

export function toClientConfig(settings: ConnectionSettings, applicationName = "memory-stack"): ClientConfig {
    const ssl = sslOption(settings.sslMode);
    return {
        host: settings.host,
        port: settings.port,
        database: settings.database,
        user: settings.user,
        password: settings.password,
        application_name: applicationName,
        ...(ssl === undefined ? {} : { ssl }),
    };
}

export function connectionUrl(settings: ConnectionSettings): string {
    const auth = `${encodeURIComponent(settings.user)}:${encodeURIComponent(settings.password)}`;
    const query = settings.sslMode && settings.sslMode !== "disable" ? `?sslmode=${settings.sslMode}` : "";
    return `postgresql://${auth}@${settings.host}:${settings.port}/${encodeURIComponent(settings.database)}${query}`;
}

function sslOption(mode: ConnectionSettings["sslMode"]): ClientConfig["ssl"] | undefined {
    switch (mode) {
        case undefined:
        case "disable":
            return undefined;
        case "prefer":
        case "require":
            // libpq's require encrypts without checking the certificate; managed servers often use private CAs.
            return { rejectUnauthorized: false };
        default:
            return { rejectUnauthorized: true };
    }
}
