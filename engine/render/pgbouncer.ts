// PgBouncer's two files, rendered from typed settings: pgbouncer.ini and the auth file (userlist.txt).
// Pure functions, no Pulumi: the Pooler mounts their output into the container, and the tests start
// Debian's pgbouncer on exactly the same text. Settings a given PgBouncer version does not know are
// left out unless the version says it has them (Debian's 1.18 refuses unknown keys).
import type { PoolMode, StackConfig } from "../config/config";

export interface PgBouncerSettings {
    /** The database clients name; PgBouncer forwards it to the same name on the server. */
    database: string;
    /** PostgreSQL's host as PgBouncer sees it (docker: the server container's name on the network). */
    serverHost: string;
    /** PostgreSQL's port as PgBouncer sees it. Default in pgbouncerSettings: 5432. */
    serverPort: number;
    /** Addresses PgBouncer listens on. Default in pgbouncerSettings: 0.0.0.0 (inside the container). */
    listenAddr: string;
    /** Port PgBouncer listens on. Default in pgbouncerSettings: 6432. */
    listenPort: number;
    /** Directory of the unix socket; empty turns it off. Default in pgbouncerSettings: "" (TCP only). */
    unixSocketDir: string;
    /** Path of the auth file as PgBouncer sees it. Default in pgbouncerSettings: /etc/pgbouncer/userlist.txt. */
    authFile: string;
    mode: PoolMode;
    /** Server connections per (database, user) pair. */
    defaultPoolSize: number;
    /** Extra server connections per pool for clients that waited reserve_pool_timeout. */
    reservePoolSize: number;
    /** Client connections accepted. */
    maxClientConn: number;
    /** Hard cap on server connections to the database, all users together: the pooler's share of the budget. */
    maxDbConnections: number;
    /** Users allowed every command on the admin console (database `pgbouncer`). Default in pgbouncerSettings: none. */
    adminUsers: string[];
    /** Users allowed the read-only SHOW commands on the admin console. Default: none. */
    statsUsers: string[];
    /** Seconds an idle server connection stays open. Default in pgbouncerSettings: 60. */
    serverIdleTimeoutSeconds: number;
    /** Protocol-level prepared statements tracked per client (PgBouncer >= 1.22 only, see preparedStatements). Default: 200. */
    maxPreparedStatements: number;
    /** PgBouncer version the file is for ("1.26.0"); undefined renders only what 1.18 and later all know. */
    version?: string;
}

/** One line of the auth file: a password (PgBouncer then does SCRAM both ways) or the server's exact SCRAM verifier. */
export interface AuthUser {
    name: string;
    /** Plaintext password; PgBouncer can then log in to any server that knows the same password. */
    password?: string;
    /** A SCRAM-SHA-256 verifier byte-identical to the one PostgreSQL stores for the role (same salt, iterations). */
    scramVerifier?: string;
}

export class PgBouncerConfigError extends Error {
    constructor(
        readonly setting: string,
        readonly value: unknown,
        readonly allowed: string,
    ) {
        super(`pgbouncer ${setting} is ${JSON.stringify(value)}; ${allowed}.`);
        this.name = "PgBouncerConfigError";
    }
}

export const PGBOUNCER_PORT = 6432;
/**
 * The first PgBouncer that refuses a second StartupMessage during SCRAM authentication (CVE-2026-107350:
 * 1.17.0 to 1.26.0 let a client that knows one auth-file password log in as any other SCRAM user).
 * An older pooler gets only the app role in its auth file: there is then no other user to become.
 */
export const IMPERSONATION_FIXED_VERSION = "1.26.1";
/** The first PgBouncer that logs in to PostgreSQL with a SCRAM secret from its auth file (its NEWS: SCRAM pass-through). */
export const SCRAM_PASS_THROUGH_VERSION = "1.14.0";

/** The roles a pooler of this version may serve: the admin role only where it cannot be impersonated. */
export function pooledRoles<T>(version: string | undefined, roles: { app: T; admin: T }): T[] {
    return atLeast(version, IMPERSONATION_FIXED_VERSION) ? [roles.app, roles.admin] : [roles.app];
}
export const CONFIG_PATH = "/etc/pgbouncer/pgbouncer.ini";
export const AUTH_FILE_PATH = "/etc/pgbouncer/userlist.txt";

const IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;
const HOST = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const SCRAM_VERIFIER = /^SCRAM-SHA-256\$\d+:[A-Za-z0-9+/]+=*\$[A-Za-z0-9+/]+=*:[A-Za-z0-9+/]+=*$/;

/** Settings for the stack's pooler: pool sizes from config, max_db_connections = the pooler's part of connectionBudget(). */
export function pgbouncerSettings(
    config: Pick<StackConfig, "database" | "pooling">,
    place: Partial<PgBouncerSettings> & Pick<PgBouncerSettings, "serverHost">,
): PgBouncerSettings {
    const { pooling } = config;
    return {
        database: config.database,
        serverPort: 5432,
        listenAddr: "0.0.0.0",
        listenPort: PGBOUNCER_PORT,
        unixSocketDir: "",
        authFile: AUTH_FILE_PATH,
        mode: pooling.mode,
        defaultPoolSize: pooling.defaultPoolSize,
        reservePoolSize: pooling.reservePoolSize,
        maxClientConn: pooling.maxClientConn,
        maxDbConnections: pooling.defaultPoolSize + pooling.reservePoolSize,
        adminUsers: [],
        statsUsers: [],
        serverIdleTimeoutSeconds: 60,
        maxPreparedStatements: 200,
        ...place,
    };
}

export function renderPgBouncerIni(settings: PgBouncerSettings): string {
    checkSettings(settings);
    const s = settings;
    const lines = [
        ";; Rendered by memory-stack (engine/render/pgbouncer.ts) from the stack config; edit the config, not this file.",
        "",
        "[databases]",
        // No user or password here: each client logs in to PostgreSQL as itself, so grants and RLS apply per role.
        `${s.database} = host=${s.serverHost} port=${s.serverPort} dbname=${s.database}`,
        "",
        "[pgbouncer]",
        `listen_addr = ${s.listenAddr}`,
        `listen_port = ${s.listenPort}`,
        `unix_socket_dir = ${s.unixSocketDir}`,
        "auth_type = scram-sha-256",
        `auth_file = ${s.authFile}`,
        ...(s.adminUsers.length > 0 ? [`admin_users = ${s.adminUsers.join(",")}`] : []),
        ...(s.statsUsers.length > 0 ? [`stats_users = ${s.statsUsers.join(",")}`] : []),
        `pool_mode = ${s.mode}`,
        `default_pool_size = ${s.defaultPoolSize}`,
        `reserve_pool_size = ${s.reservePoolSize}`,
        `max_client_conn = ${s.maxClientConn}`,
        ";; The pooler's whole share of PostgreSQL's max_connections, across every user's pool.",
        `max_db_connections = ${s.maxDbConnections}`,
        ";; Under max_db_connections an idle connection of one user's pool blocks another user's pool until it closes.",
        `server_idle_timeout = ${s.serverIdleTimeoutSeconds}`,
        ";; After a server restart (a new owner password replaces its container) clients are refused until the next login",
        ";; try, and the server's container name may resolve to a new address: retry and re-resolve after 1 s, not 15.",
        "server_login_retry = 1",
        "dns_max_ttl = 1",
        "dns_nxdomain_ttl = 1",
        ...resetQuery(s.mode),
        // Listing options also closes CVE-2026-107349 (1.20-1.26.0 spin on "-c=" when options is not listed):
        // https://access.crunchydata.com/documentation/pgbouncer/1.26.1/news/
        ";; extra_float_digits: sent by pgjdbc and others, and PostgreSQL 12+ already returns exact floats.",
        ";; options: a transaction pooler cannot keep per-connection -c settings (search_path, timeouts) for a",
        ";; client; set them on the role (alter role ... set) and every pooled server connection has them.",
        "ignore_startup_parameters = extra_float_digits,options",
        ...preparedStatements(s),
    ];
    return lines.map((line) => line.trimEnd()).join("\n") + "\n";
}

/** The auth file: `"name" "secret"` per line, quotes doubled; the roles applications log in as, never the owner. */
export function renderAuthFile(users: AuthUser[]): string {
    if (users.length === 0) {
        throw new PgBouncerConfigError("auth_file", [], "needs at least the app role");
    }
    const seen = new Set<string>();
    const lines = users.map((user) => {
        checkIdentifier("auth_file user", user.name);
        if (seen.has(user.name)) {
            throw new PgBouncerConfigError("auth_file user", user.name, "appears twice; list each user once");
        }
        seen.add(user.name);
        return `${quote(user.name)} ${quote(authSecret(user))}`;
    });
    return lines.join("\n") + "\n";
}

/** Salt and iterations of a stored verifier, to derive the identical one from the password. */
export function scramParameters(verifier: string): { salt: Buffer; iterations: number } {
    if (!SCRAM_VERIFIER.test(verifier)) {
        throw new PgBouncerConfigError(
            "scram verifier",
            "[secret]",
            "is not a SCRAM-SHA-256$<iterations>:<salt>$<stored key>:<server key> verifier",
        );
    }
    const [, params] = verifier.split("$");
    const [iterations, salt] = params.split(":");
    return { iterations: Number(iterations), salt: Buffer.from(salt, "base64") };
}

/** The PgBouncer version in an image tag (edoburu/pgbouncer:v1.26.0-p0 → 1.26.0); undefined when the tag does not say. */
export function pgbouncerVersionFromImage(image: string): string | undefined {
    const reference = image.split("@")[0];
    const name = reference.slice(reference.lastIndexOf("/") + 1);
    const tag = name.includes(":") ? name.slice(name.indexOf(":") + 1) : "";
    return /^v?(\d+\.\d+\.\d+)(?:[-_.].*)?$/.exec(tag)?.[1];
}

/** True when version is known and not older than minimum. */
export function atLeast(version: string | undefined, minimum: string): boolean {
    if (version === undefined) {
        return false;
    }
    const have = version.split(".").map(Number);
    const need = minimum.split(".").map(Number);
    for (let i = 0; i < need.length; i++) {
        if ((have[i] ?? 0) !== need[i]) {
            return (have[i] ?? 0) > need[i];
        }
    }
    return true;
}

/**
 * What a server session carries from one client to the next: nothing. The reset runs before the server
 * connection serves anyone else, in every pool mode: it resets every setting (a user id set by
 * set_config(..., false) or SET, a search_path), the role and session authorization, and drops temp
 * tables, advisory locks, prepared statements, listeners and cursors. RESET ALL alone would leave all of
 * those, the role included, to the next client. Row level security does not depend on it
 * (memory_stack.request_user_id() honours only bind_user's per-transaction binding for the app role):
 * it keeps whatever a client left in its session out of the next client's.
 *
 * It is DISCARD ALL's steps, not DISCARD ALL: PgBouncer returns a server whose reset failed to the pool
 * as it is, and a failed DISCARD ALL rolls back the settings, temp tables and listeners (attack36: a
 * statement_timeout or a cancel that reaches the reset handed the next client a temp copy of another
 * user's rows). DISCARD ALL refuses to share its query string, so the steps run in one: the client's
 * timeouts off first, and exit_on_error, so that any error in the reset ends the server session and
 * PgBouncer drops the connection. Both are set again after RESET ALL, and local, so that they go at commit.
 */
const SESSION_SAFE = "set local exit_on_error = on; set local statement_timeout = 0; set local lock_timeout = 0";
export const SERVER_RESET_QUERY = [
    SESSION_SAFE,
    "close all; set session authorization default; reset all",
    SESSION_SAFE,
    "deallocate all; unlisten *; select pg_catalog.pg_advisory_unlock_all(); discard plans; discard temp; discard sequences",
].join("; ");

function resetQuery(mode: PoolMode): string[] {
    const reset = `server_reset_query = ${SERVER_RESET_QUERY}`;
    if (mode === "session") {
        return [";; When its client disconnects, wipe the session's state (see engine/render/pgbouncer.ts).", reset];
    }
    return [
        ";; After every transaction, before the server connection serves another client: wipe the session's",
        ";; state (settings, role, temp tables, locks, prepared statements, listeners, cursors), or end it when",
        ";; the wipe fails (see engine/render/pgbouncer.ts).",
        reset,
        "server_reset_query_always = 1",
    ];
}

/**
 * PgBouncer 1.21 tracks protocol-level prepared statements but does not notice that the reset drops
 * them, and would then run statements that no longer exist: there it stays off (its default).
 * From 1.22 PgBouncer clears its record of a server connection's statements when DEALLOCATE ALL (or
 * DISCARD ALL) completes, also in the reset, and prepares them again for the client that uses them next.
 */
function preparedStatements(s: PgBouncerSettings): string[] {
    if (atLeast(s.version, "1.22.0")) {
        return [
            ";; Named prepared statements (asyncpg, psycopg 3, pgjdbc) survive transaction pooling.",
            `max_prepared_statements = ${s.maxPreparedStatements}`,
        ];
    }
    if (atLeast(s.version, "1.21.0")) {
        return [";; PgBouncer 1.21 would lose track of prepared statements the reset drops: keep them off.", "max_prepared_statements = 0"];
    }
    return [];
}

function authSecret(user: AuthUser): string {
    if ((user.password === undefined) === (user.scramVerifier === undefined)) {
        throw new PgBouncerConfigError("auth_file user", user.name, "needs exactly one of password or scramVerifier");
    }
    if (user.scramVerifier !== undefined) {
        scramParameters(user.scramVerifier);
        return user.scramVerifier;
    }
    const password = user.password as string;
    if (password === "" || /[\r\n\0]/.test(password)) {
        throw new PgBouncerConfigError("auth_file password", "[secret]", `of ${user.name} must be non-empty and on one line`);
    }
    return password;
}

function quote(value: string): string {
    return `"${value.replace(/"/g, '""')}"`;
}

function checkSettings(s: PgBouncerSettings): void {
    checkIdentifier("database", s.database);
    if (!HOST.test(s.serverHost)) {
        throw new PgBouncerConfigError("server host", s.serverHost, "must be a host name or address without spaces");
    }
    checkInt("server port", s.serverPort, 1, 65535);
    checkInt("listen_port", s.listenPort, 1, 65535);
    if (!/^[A-Za-z0-9.:*,_ -]+$/.test(s.listenAddr)) {
        throw new PgBouncerConfigError("listen_addr", s.listenAddr, "must be addresses or host names, comma separated");
    }
    for (const [setting, path] of [
        ["auth_file", s.authFile],
        ["unix_socket_dir", s.unixSocketDir],
    ] as const) {
        if (/[\r\n;#]/.test(path) || (setting === "auth_file" && !path.startsWith("/"))) {
            throw new PgBouncerConfigError(setting, path, "must be an absolute path on one line, without ; or #");
        }
    }
    if (!["session", "transaction", "statement"].includes(s.mode)) {
        throw new PgBouncerConfigError("pool_mode", s.mode, "must be one of session, transaction, statement");
    }
    checkInt("default_pool_size", s.defaultPoolSize, 1, 10000);
    checkInt("reserve_pool_size", s.reservePoolSize, 0, 10000);
    checkInt("max_client_conn", s.maxClientConn, 1, 100000);
    checkInt("max_db_connections", s.maxDbConnections, s.defaultPoolSize, 100000);
    checkInt("server_idle_timeout", s.serverIdleTimeoutSeconds, 1, 86400);
    checkInt("max_prepared_statements", s.maxPreparedStatements, 0, 100000);
    for (const user of [...s.adminUsers, ...s.statsUsers]) {
        checkIdentifier("admin_users/stats_users", user);
    }
    if (s.version !== undefined && !/^\d+\.\d+\.\d+$/.test(s.version)) {
        throw new PgBouncerConfigError("version", s.version, "must look like 1.26.0, or be left unset");
    }
}

function checkIdentifier(setting: string, value: string): void {
    if (!IDENTIFIER.test(value)) {
        throw new PgBouncerConfigError(setting, value, "must be a lowercase SQL identifier (a letter or _, then letters, digits or _)");
    }
}

function checkInt(setting: string, value: number, min: number, max: number): void {
    if (!Number.isInteger(value) || value < min || value > max) {
        throw new PgBouncerConfigError(setting, value, `must be an integer from ${min} to ${max}`);
    }
}
