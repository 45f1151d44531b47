// What to do after a connection the CLI could not open, for the failures a first run meets: the server's or
// the network's words alone ("password authentication failed", "connect ECONNREFUSED") leave the user without a next step.
import { saslprepChanges } from "../engine/config/saslprep";
import type { ConnectionSettings } from "../engine/db/url";

/** The next step for `error` from connecting with `settings`, or undefined for an error it has no advice for. */
export function connectAdvice(
    error: unknown,
    settings: Pick<ConnectionSettings, "host" | "port" | "database" | "user"> &
        Partial<Pick<ConnectionSettings, "password" | "sslRootCert">>,
): string | undefined {
    const { code, message, syscall, path } = (error ?? {}) as { code?: unknown; message?: unknown; syscall?: unknown; path?: unknown };
    // Read at connect: PGSSLROOTCERT's file, or the URL's when only the connection's sslmode (PGSSLMODE) insists on it.
    if (settings.sslRootCert !== undefined && ((syscall === "open" && path === settings.sslRootCert) || code === "EISDIR")) {
        return `the CA file ${JSON.stringify(settings.sslRootCert)} (the URL's sslrootcert, else PGSSLROOTCERT) cannot be read: name a readable one, or leave it out`;
    }
    switch (code) {
        case "28P01":
            // node-postgres rewrites such a password by SASLprep even where PostgreSQL and libpq keep it as typed.
            if (settings.password && saslprepChanges(settings.password)) {
                return (
                    "the password holds a character SCRAM's SASLprep rewrites (™, a ligature, a full-width form, a no-break space, " +
                    "a combining accent), which clients hash differently: psql may log in where memory-stack cannot; " +
                    "give the role a password with those characters in their plain form"
                );
            }
            return (
                `check the user and the password: the URL's (percent-encode @ # / ? : % and spaces in it), else PGPASSWORD; ` +
                `psql with the same URL gets the same answer`
            );
        case "3D000":
            return (
                `memory-stack creates the schema, not the database: create it first ` +
                `(create database "${settings.database.replace(/"/g, '""')}", or createdb), or fix the database name in the URL`
            );
        case "ECONNREFUSED":
        case "ENOENT": // a unix socket directory (?host=/dir) without the server's socket
            return `nothing accepts connections at ${settings.host}:${settings.port}: start the server, or fix the host and port in the URL`;
        case "ENOTFOUND":
        case "EAI_AGAIN":
            return `the host name ${settings.host} does not resolve: fix the host in the URL`;
    }
    if (typeof message === "string" && message.includes("The server does not support SSL connections")) {
        return "this server has no TLS, which sslmode=require asks for: turn ssl on in the server; only where the network between is trusted (a local server), leave sslmode out or set it to disable, and the connection is then unencrypted";
    }
    return undefined;
}
