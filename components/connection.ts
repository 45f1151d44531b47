// Plain connection settings shared by the engines, the dynamic resources and the outputs.
import type { ClientConfig } from "pg";

export interface ConnectionSettings {
    host: string;
    port: number;
    database: string;
    user: string;
    password: string;
    /** libpq sslmode; "disable" for the local container. */
    sslMode?: "disable" | "prefer" | "require" | "verify-ca" | "verify-full";
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
