// One way to open, use and close a connection, and to run a transaction: every engine entry point,
// the CLI and the providers go through these, so none of them opens, guards or closes a client by hand.
import { randomBytes } from "node:crypto";
import type { Client as PgClient, ClientBase, ClientConfig } from "pg";
import type { ConnectionOptions } from "node:tls";
import { Client } from "./pg";
import { rootCertificate } from "./root-cert";
import { negotiateTls, UnencryptedDataError } from "./ssl-request";
import { describeTarget, type ConnectionSettings, type SslMode } from "./url";

/** What the engine needs of a connection: one session to send statements on. */
export type SqlClient = Pick<ClientBase, "query">;

export interface ConnectOptions {
    /** application_name, so a DBA (and a lock-wait message) can tell who is connected. */
    applicationName: string;
    /** Give up connecting after this long, unless the settings carry libpq's connect_timeout. Default: 15 000 ms. */
    connectTimeoutMs?: number;
}

/** The server asked for a password and the connection has none. */
export class NoPasswordError extends Error {
    constructor(settings: ConnectionSettings) {
        super(
            `the server asks ${describeTarget(settings)} for a password, and the connection has none: put it in the URL ` +
                "(postgresql://user:password@host/database, percent-encoded) or set PGPASSWORD",
        );
        this.name = "NoPasswordError";
    }
}

/**
 * A connected client. sslmode means what it means to libpq: prefer tries TLS and falls back to a plain
 * connection when the server has no TLS or refuses it there; allow tries plain first, then TLS; require
 * encrypts without checking the certificate (verify-ca with sslrootcert); verify-ca checks the chain,
 * verify-full the chain and the host name. A dropped connection surfaces as the running query's error,
 * never as an unhandled event.
 */
export async function connect(settings: ConnectionSettings, options: ConnectOptions): Promise<PgClient> {
    const mode = settings.sslMode ?? "disable";
    // A unix socket has no TLS: libpq neither asks there nor tries again, for prefer and allow alike.
    const attempts = settings.host.startsWith("/") && (mode === "prefer" || mode === "allow") ? [false] : TLS_ATTEMPTS[mode];
    // One bound for every attempt, as libpq's connect_timeout bounds its retries on one address; 0 waits as long as the network does.
    const timeoutMs =
        settings.connectTimeoutSeconds !== undefined ? settings.connectTimeoutSeconds * 1000 : (options.connectTimeoutMs ?? 15_000);
    // A bound longer than a node timer holds (about 24.8 days) waits without one: the timer would fire at once.
    const deadline = timeoutMs > 0 && timeoutMs <= MAX_TIMER_MS ? Date.now() + timeoutMs : undefined;
    for (const [index, tls] of attempts.entries()) {
        try {
            return await connectOnce(settings, options, tls, deadline);
        } catch (error) {
            if (index === attempts.length - 1 || !worthAnotherTry(error, tls)) {
                throw error;
            }
        }
    }
    throw new Error("unreachable: every sslmode makes at least one attempt");
}

const MAX_TIMER_MS = 2 ** 31 - 1;

const TLS_ATTEMPTS: Record<SslMode, boolean[]> = {
    disable: [false],
    allow: [false, true],
    prefer: [true, false],
    require: [true],
    "verify-ca": [true],
    "verify-full": [true],
};

/**
 * libpq tries the other kind of connection when pg_hba.conf refused this one (SQLSTATE 28000), and, after
 * a TLS attempt, when TLS could not be set up: the server has none, or the connection broke during the
 * handshake (then the plain attempt's error is the one reported). A timeout, a missing password, bytes
 * stuffed after the server's 'S' (as libpq), a host that cannot be reached at all, or a refusal of a
 * connection that was plain already (prefer, after the server said it has no TLS) is final.
 */
function worthAnotherTry(error: unknown, triedTls: boolean): boolean {
    const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
    if (typeof error === "object" && error !== null && PLAIN_ALREADY.has(error)) {
        return false;
    }
    if (code === "28000") {
        return true;
    }
    if (typeof code === "string" && UNREACHABLE.has(code)) {
        return false;
    }
    const serverAnswered = typeof code === "string" && /^[0-9A-Z]{5}$/.test(code);
    const timedOut = typeof message === "string" && /timeout/i.test(message);
    return triedTls && !serverAnswered && !timedOut && !(error instanceof NoPasswordError) && !(error instanceof UnencryptedDataError);
}

/** Refusals of a prefer attempt that went on in plain text (ssl-request.ts). */
const PLAIN_ALREADY = new WeakSet<object>();
/** No connection was made: libpq goes to the next address, it does not try the same one without TLS. */
const UNREACHABLE = new Set(["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "EHOSTUNREACH", "ENETUNREACH", "EADDRNOTAVAIL"]);

async function connectOnce(
    settings: ConnectionSettings,
    options: ConnectOptions,
    tls: boolean,
    deadline: number | undefined,
): Promise<PgClient> {
    // 0: no timeout, to pg and to negotiateTls alike.
    const remainingMs = () => (deadline === undefined ? 0 : Math.max(1, deadline - Date.now()));
    // prefer asks for TLS itself and goes on in plain text on the same connection when the server has none (ssl-request.ts).
    const prefer = tls && settings.sslMode === "prefer";
    const stream = prefer
        ? await negotiateTls(settings.host, settings.port, tlsOptions(settings) as ConnectionOptions, remainingMs())
        : undefined;
    const client = new Client({
        ...(stream ? { stream: () => stream } : {}),
        host: settings.host,
        port: settings.port,
        database: settings.database,
        user: settings.user,
        // Asked only when the server wants one, so a trust or peer login needs none.
        password: async () => {
            if (settings.password === "") {
                throw new NoPasswordError(settings);
            }
            return settings.password;
        },
        application_name: options.applicationName,
        // Explicit either way: pg would otherwise read PGSSLMODE with meanings of its own. Over a negotiated stream, pg only speaks.
        ssl: tls && !prefer ? tlsOptions(settings) : false,
        connectionTimeoutMillis: remainingMs(),
    });
    // Kept, not thrown: the running query fails with pg's own words ("not queryable"), and endedBy() says why.
    client.on("error", (error) => ENDED_BY.set(client, error));
    try {
        await client.connect();
    } catch (error) {
        await client.end().catch(() => undefined);
        // pg_hba.conf refused a connection that went on in plain text: a second plain one gets the same answer.
        // A TLSSocket says `encrypted`; a plain net.Socket has no such property (and node:tls need not be loaded to ask).
        if (
            stream !== undefined &&
            (stream as { encrypted?: boolean }).encrypted !== true &&
            (error as { code?: unknown }).code === "28000"
        ) {
            PLAIN_ALREADY.add(error as object);
        }
        throw error;
    }
    return client;
}

const ENDED_BY = new WeakMap<object, unknown>();

/** What ended this client's connection (the server's 57P01, a reset), once something did. */
export function endedBy(client: object): unknown {
    return ENDED_BY.get(client);
}

function tlsOptions(settings: ConnectionSettings): ClientConfig["ssl"] {
    const ca = rootCertificate(settings.sslRootCert, settings.sslMode);
    switch (settings.sslMode) {
        case "verify-full":
            return ca === undefined ? { rejectUnauthorized: true } : { rejectUnauthorized: true, ca };
        case "verify-ca":
            return { rejectUnauthorized: true, ca, checkServerIdentity: () => undefined };
        default:
            // libpq's require (and prefer, allow) encrypts without checking; with a root certificate it checks the chain.
            return ca === undefined
                ? { rejectUnauthorized: false }
                : { rejectUnauthorized: true, ca, checkServerIdentity: () => undefined };
    }
}

/** Runs `work` on a connection of its own, closed afterwards whatever happens. */
export async function withClient<T>(
    settings: ConnectionSettings,
    options: ConnectOptions,
    work: (client: PgClient) => Promise<T>,
): Promise<T> {
    const client = await connect(settings, options);
    try {
        return await work(client);
    } finally {
        await client.end().catch(() => undefined);
    }
}

/** begin; work; commit — or rollback and rethrow the original error (a rollback on a dead connection has nothing to undo). */
export async function withTransaction<T>(client: SqlClient, work: () => Promise<T>): Promise<T> {
    await client.query("begin");
    try {
        const result = await work();
        await client.query("commit");
        return result;
    } catch (error) {
        await client.query("rollback").catch(() => undefined);
        throw error;
    }
}

const sessionTags = new WeakMap<SqlClient, string>();

/** New names for the client's prepared statements from now on: those of the old names may or may not exist on the server. */
export function renamePrepared(client: SqlClient): void {
    sessionTags.delete(client);
}

/**
 * A prepared-statement name for `purpose` on this client, for a query run again and again whose planning
 * costs more than its run (the catalog snapshot). Unique to the client object, not just to the purpose:
 * a server session may be shared by several clients (PGlite's socket) or outlive one (a session pooler
 * with no reset query), and another client's statement of the same name would be "already exists".
 */
export function preparedName(client: SqlClient, purpose: string): string {
    let tag = sessionTags.get(client);
    if (tag === undefined) {
        tag = `${process.pid.toString(36)}_${randomBytes(6).toString("hex")}`;
        sessionTags.set(client, tag);
    }
    return `memory_stack_${purpose}_${tag}`;
}
