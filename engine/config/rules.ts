// Defaults that need a reason, and the rules across keys: what must fit together. Each rule throws
// a ConfigError that names the key to change.
import type { ClientPoolConfig, PoolingConfig, StackConfig } from "./config";
import { ConfigError, NAMESPACE } from "./values";
import { ConnectionUrlError, parseConnectionUrl, type ConnectionSettings, type SslMode } from "../db/url";

export const DEFAULT_IMAGE = "postgres:15-alpine";
export const DEFAULT_VECTOR_IMAGE = "pgvector/pgvector:pg15";
// PgBouncer 1.26.0 in edoburu's maintained Alpine image; its -pN tags are immutable rebuilds.
export const DEFAULT_PGBOUNCER_IMAGE = "edoburu/pgbouncer:v1.26.0-p0";
// pgvector's hnsw and ivfflat indexes accept at most 2000 dimensions for the vector type.
export const MAX_INDEXED_DIMENSIONS = 2000;

/** Server connections that can be open at once, and what they must fit in. */
export function connectionBudget(config: StackConfig): { needed: number; available: number; parts: string } {
    const available = config.maxConnections - config.superuserReservedConnections;
    const app = config.pooling.enabled
        ? config.pooling.defaultPoolSize + config.pooling.reservePoolSize
        : config.client.poolSize + config.client.maxOverflow;
    const parts = config.pooling.enabled
        ? `pooling.defaultPoolSize ${config.pooling.defaultPoolSize} + pooling.reservePoolSize ${config.pooling.reservePoolSize}`
        : `client.poolSize ${config.client.poolSize} + client.maxOverflow ${config.client.maxOverflow}`;
    return { needed: app + config.directConnections, available, parts: `${parts} + directConnections ${config.directConnections}` };
}

export function checkConnectionBudget(config: StackConfig): void {
    if (config.superuserReservedConnections >= config.maxConnections) {
        throw new ConfigError(
            "superuserReservedConnections",
            config.superuserReservedConnections,
            `must be below maxConnections (${config.maxConnections})`,
        );
    }
    if (config.provisioner === "external") {
        return; // the managed server's max_connections is not ours to set
    }
    const budget = connectionBudget(config);
    if (budget.needed > budget.available) {
        throw new ConfigError(
            "maxConnections",
            config.maxConnections,
            `${budget.parts} = ${budget.needed} connections, but maxConnections ${config.maxConnections} - superuserReservedConnections ${config.superuserReservedConnections} leaves ${budget.available}; raise maxConnections to at least ${budget.needed + config.superuserReservedConnections} or lower the pool sizes`,
        );
    }
}

/** The application's own pool (one instance) must fit through the pooler. */
export function checkPoolerFitsClient(pooling: PoolingConfig, client: ClientPoolConfig): void {
    const clientMax = client.poolSize + client.maxOverflow;
    const clientParts = `client.poolSize ${client.poolSize} + client.maxOverflow ${client.maxOverflow} = ${clientMax}`;
    if (pooling.maxClientConn < clientMax) {
        throw new ConfigError(
            "pooling.maxClientConn",
            pooling.maxClientConn,
            `must be at least ${clientParts}, or PgBouncer refuses the application's overflow connections; raise it or lower the client pool`,
        );
    }
    // In session mode a client holds its server connection until it disconnects, and an application
    // pool keeps its connections open: the ones beyond the server pool would wait until query_wait_timeout.
    const serverMax = pooling.defaultPoolSize + pooling.reservePoolSize;
    if (pooling.mode === "session" && clientMax > serverMax) {
        throw new ConfigError(
            "pooling.mode",
            pooling.mode,
            `holds one server connection per application connection, but ${clientParts} exceeds pooling.defaultPoolSize ${pooling.defaultPoolSize} + pooling.reservePoolSize ${pooling.reservePoolSize} = ${serverMax}; use transaction mode, raise the server pool (and maxConnections) or lower the client pool`,
        );
    }
}

/** A tag or digest pins what `pulumi up` runs; no tag or :latest changes under the stack between two runs. */
export function checkPinned(key: string, image: string): void {
    const name = image.slice(image.lastIndexOf("/") + 1);
    const tag = name.includes(":") ? name.slice(name.indexOf(":") + 1) : "";
    if (!image.includes("@sha256:") && (tag === "" || tag === "latest")) {
        throw new ConfigError(key, image, `must be pinned to a version tag or a digest (for example ${DEFAULT_PGBOUNCER_IMAGE})`);
    }
}

export function checkRoles(config: StackConfig): void {
    if (config.appRole === config.adminRole) {
        throw new ConfigError("adminRole", config.adminRole, "must differ from appRole");
    }
    for (const key of ["appRole", "adminRole"] as const) {
        if (config[key] === config.user) {
            throw new ConfigError(
                key,
                config[key],
                `must differ from the owner user (${config.user}): the owner bypasses row level security`,
            );
        }
        if (!config.createRoles && loginFor(config[key]).length > 63) {
            throw new ConfigError(key, config[key], `is too long for its login role ${loginFor(config[key])}: use at most 57 characters`);
        }
    }
    if (!config.createRoles && config.pooling.enabled) {
        throw new ConfigError(
            "createRoles",
            false,
            "needs pooling.enabled: false: the roles' logins become them through a startup option, which PgBouncer drops; set createRoles: true (the stack creates the roles with logins of their own) or pooling.enabled: false",
        );
    }
    // Those sessions serve the application's connection strings, where a claim could outlive its transaction.
    const serving = config.createRoles ? [config.appRole, config.adminRole] : [loginFor(config.appRole), loginFor(config.adminRole)];
    for (const login of config.plainClaimLogins) {
        if ([...serving, config.appRole, config.adminRole].includes(login)) {
            throw new ConfigError(
                "plainClaimLogins",
                config.plainClaimLogins,
                `must not name ${login}, which the stack's own connection strings log in as: their clients bind the user with memory_stack.bind_user; list only logins like PostgREST's authenticator that set the claims per transaction themselves`,
            );
        }
    }
}

/** The login that can only become `role`, where the role exists already (createRoles false): the authenticator pattern. */
export function loginFor(role: string): string {
    return `${role}_login`;
}

export function checkImage(image: string, vector: boolean): void {
    const tag = image.includes(":") ? image.slice(image.lastIndexOf(":") + 1) : "";
    if (!/(^|[^0-9])15([.-]|$)/.test(tag)) {
        throw new ConfigError(
            "image",
            image,
            "must be a PostgreSQL 15.x image with the major version in its tag (postgres:15-alpine, postgres:15.8, pgvector/pgvector:pg15)",
        );
    }
    if (vector && !image.includes("pgvector")) {
        throw new ConfigError(
            "image",
            image,
            `has no pgvector, which vector: true needs; use ${DEFAULT_VECTOR_IMAGE} (or leave image unset) or set vector: false`,
        );
    }
}

export interface ExternalServer {
    host: string;
    port: number;
    database: string;
    user: string;
    password: string | undefined;
    sslMode: SslMode | undefined;
}

export function parseDatabaseUrl(url: string | undefined): ExternalServer {
    if (url === undefined || url.trim() === "") {
        throw new ConfigError(
            "databaseUrl",
            undefined,
            `is required with provisioner: external; set it with \`pulumi config set --secret ${NAMESPACE}:databaseUrl postgresql://user:password@host:5432/database\``,
        );
    }
    let server: ConnectionSettings;
    try {
        server = parseConnectionUrl(url);
    } catch (error) {
        if (error instanceof ConnectionUrlError) {
            throw new ConfigError("databaseUrl", error.shown ?? "[secret]", error.message);
        }
        throw error;
    }
    return { ...server, password: server.password === "" ? undefined : server.password, sslMode: server.sslMode };
}
