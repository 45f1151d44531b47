// Defaults that need a reason, and the rules across keys: what must fit together. Each rule is a zod
// refinement that names the key to change, its value and what is allowed.
import type { z } from "zod";
import type { ClientPoolConfig, ConfigKeys, PoolingConfig, StackConfig } from "./config";
import { isReservedRoleName, RESERVED_ROLE_RULE, TEMPLATE_DATABASES } from "./reserved";
import { checkPostgresImage, ImageReferenceError, parseImageReference, type ImageReference, type PostgresImage } from "./image";
import { publishedRules } from "./published";
import { saslprepChanges } from "./saslprep";
import { ConfigError, NAMESPACE, SASLPREP_RULE } from "./values";
import { MAX_HALFVEC_INDEX_DIMENSIONS, MAX_VECTOR_INDEX_DIMENSIONS, MIN_IVFFLAT_DIMENSIONS } from "../migrate/render";
import { atLeast, pgbouncerVersionFromImage, SCRAM_PASS_THROUGH_VERSION } from "../render/pgbouncer";

export const DEFAULT_IMAGE = "postgres:15-alpine";
export const DEFAULT_VECTOR_IMAGE = "pgvector/pgvector:pg15";
// PgBouncer 1.26.0 in edoburu's maintained Alpine image; its -pN tags are immutable rebuilds.
export const DEFAULT_PGBOUNCER_IMAGE = "edoburu/pgbouncer:v1.26.0-p0";
// Every connection of the stack goes through pg and the postgresql provider (lib/pq), which knows no prefer or allow.
export const STACK_SSL_MODES = ["disable", "require", "verify-ca", "verify-full"] as const;

type Context = z.RefinementCtx;

function fail(ctx: Context, key: string, value: unknown, message: string): void {
    ctx.addIssue({ code: "custom", path: key.split("."), input: value, message });
}

/** Rules about which keys may be given together, on the values as given (before defaults that depend on others). */
export function presenceRules(given: ConfigKeys, ctx: Context): void {
    const external = given.provisioner === "external";
    if (external) {
        for (const key of ["password", "image", "imageMajorVersion", "database", "user", "host", "hostPort", "bindAddress"] as const) {
            if (given[key] !== undefined) {
                fail(
                    ctx,
                    key,
                    key === "password" ? "[secret]" : given[key],
                    "not used with provisioner: external; the server's URL (databaseUrl) carries it",
                );
            }
        }
    }
    const urlMode = given.databaseUrl?.server.sslMode;
    if (urlMode !== undefined && !(STACK_SSL_MODES as readonly string[]).includes(urlMode)) {
        fail(ctx, "databaseUrl", "[secret]", `has sslmode=${urlMode}; the stack connects with sslmode ${STACK_SSL_MODES.join(", ")}`);
    } else if (given.sslMode !== undefined && urlMode !== undefined && given.sslMode !== urlMode) {
        fail(ctx, "sslMode", given.sslMode, `disagrees with databaseUrl's sslmode=${urlMode}; set one of them`);
    }
}

/** Rules across keys, on the resolved config. */
export function keyRules(config: StackConfig, ctx: Context): void {
    const docker = config.provisioner === "docker";
    if (!docker && config.databaseUrl === undefined) {
        fail(
            ctx,
            "databaseUrl",
            undefined,
            `is required with provisioner: external; set it with \`pulumi config set --secret ${NAMESPACE}:databaseUrl postgresql://user:password@host:5432/database\``,
        );
        return;
    }
    if (docker && config.databaseUrl !== undefined) {
        fail(ctx, "databaseUrl", "[secret]", "only used with provisioner: external; remove it or set provisioner: external");
    }
    if (!docker && config.password === undefined) {
        fail(
            ctx,
            "databaseUrl",
            "[secret]",
            "has no password; put it in the URL (percent-encoded: postgresql://user:p%40ss@host/db) or as ?password=, and set the URL as a secret",
        );
    }
    if (!docker && config.password !== undefined && saslprepChanges(config.password)) {
        fail(ctx, "databaseUrl", "[secret]", `has a password that holds ${SASLPREP_RULE}; change the server's password`);
    }
    if (docker && config.sslMode !== "disable") {
        fail(
            ctx,
            "sslMode",
            config.sslMode,
            "is for an external server: the docker server the stack starts has no TLS (no certificate, ssl off), so every connection would fail; leave sslMode unset (disable)",
        );
    }
    if (docker && config.createDatabase) {
        fail(ctx, "createDatabase", true, "only used with provisioner: external; the docker server creates its database itself");
    }
    if (config.createDatabase && config.database === "postgres") {
        fail(
            ctx,
            "createDatabase",
            true,
            "databaseUrl names the maintenance database postgres, which always exists; name the database to create in databaseUrl or set createDatabase: false",
        );
    }
    if (docker) {
        imageRules(config, ctx);
        publishedRules(config, ctx);
    }
    nameRules(config, ctx);
    if (config.vector && config.vectorDimensions > MAX_HALFVEC_INDEX_DIMENSIONS) {
        fail(
            ctx,
            "vectorDimensions",
            config.vectorDimensions,
            `pgvector's hnsw and ivfflat indexes accept at most ${MAX_HALFVEC_INDEX_DIMENSIONS} dimensions (as halfvec above ${MAX_VECTOR_INDEX_DIMENSIONS}); use at most ${MAX_HALFVEC_INDEX_DIMENSIONS} or turn vector off`,
        );
    }
    if (config.vector && config.vectorIndex === "ivfflat" && config.vectorDimensions < MIN_IVFFLAT_DIMENSIONS) {
        fail(
            ctx,
            "vectorDimensions",
            config.vectorDimensions,
            `pgvector's ivfflat index needs at least ${MIN_IVFFLAT_DIMENSIONS} dimensions for cosine distance; use vectorIndex hnsw`,
        );
    }
    searchSettingRules(config, ctx);
    poolingRules(config, ctx);
    roleRules(config, ctx);
    budgetRules(config, ctx);
}

/** The values a key takes when not given, for the rule below: a value other than these was set by the user. */
export interface UnusedKeyDefaults {
    pooling: Omit<ConfigKeys["pooling"], "enabled">;
    maxConnections: number;
    superuserReservedConnections: number;
}

/** Keys set (to other than their default) where they do nothing: the user expects an effect that never comes. */
export function unusedKeyRules(config: ConfigKeys, ctx: Context, defaults: UnusedKeyDefaults): void {
    if (config.provisioner === "external") {
        for (const [field, value] of Object.entries(defaults.pooling)) {
            const given = config.pooling[field as keyof UnusedKeyDefaults["pooling"]];
            if (given !== value) {
                fail(
                    ctx,
                    `pooling.${field}`,
                    given,
                    "has no effect with provisioner: external, which runs no PgBouncer (an external server brings its own pooler, Supabase: Supavisor); remove it",
                );
            }
        }
        for (const key of ["maxConnections", "superuserReservedConnections"] as const) {
            if (config[key] !== defaults[key]) {
                fail(ctx, key, config[key], "has no effect with provisioner: external, whose server sets its own; remove it");
            }
        }
    }
    if (!config.rls && config.plainClaimLogins.length > 0) {
        fail(
            ctx,
            "plainClaimLogins",
            config.plainClaimLogins,
            "has no effect with rls: false (it lets those logins' claims count for row level security); remove it or set rls: true",
        );
    }
}

/** vectorEfSearch and vectorProbes: each only where the index it tunes exists. */
function searchSettingRules(config: StackConfig, ctx: Context): void {
    for (const [key, index] of [
        ["vectorEfSearch", "hnsw"],
        ["vectorProbes", "ivfflat"],
    ] as const) {
        if (config[key] !== undefined && (!config.vector || config.vectorIndex !== index)) {
            fail(ctx, key, config[key], `tunes pgvector's ${index} index; set it only with vector: true and vectorIndex: ${index}`);
        }
    }
}

function poolingRules(config: StackConfig, ctx: Context): void {
    const { pooling } = config;
    if (!pooling.enabled) {
        return;
    }
    if (config.provisioner === "external") {
        fail(
            ctx,
            "pooling.enabled",
            true,
            "PgBouncer runs beside a docker server only; an external server brings its own pooler (Supabase: Supavisor). Set pooling.enabled: false",
        );
        return;
    }
    if (pooling.hostPort === config.hostPort) {
        fail(ctx, "pooling.hostPort", pooling.hostPort, `must differ from hostPort (${config.hostPort})`);
    }
    if (pooling.mode === "statement" && config.rls) {
        fail(
            ctx,
            "pooling.mode",
            pooling.mode,
            "runs each statement on its own and refuses transactions, but row level security binds the user per transaction (memory_stack.bind_user): use transaction mode, or rls: false",
        );
    }
    pinnedRule("pooling.image", pooling.image, ctx);
    poolerVersionRule(pooling.image, ctx);
    poolerFitsClient(pooling, config.client, ctx);
}

/**
 * The auth file holds the roles' SCRAM secrets, with which PgBouncer logs in to PostgreSQL only from 1.14.0 (SCRAM
 * pass-through): an older one starts and passes its healthcheck, and then no application login gets through.
 */
function poolerVersionRule(image: string, ctx: Context): void {
    const version = pgbouncerVersionFromImage(image);
    if (version !== undefined && !atLeast(version, SCRAM_PASS_THROUGH_VERSION)) {
        fail(
            ctx,
            "pooling.image",
            image,
            `runs PgBouncer ${version}, which cannot log in to PostgreSQL with the SCRAM secrets the stack's auth file holds (PgBouncer ${SCRAM_PASS_THROUGH_VERSION} and later can); use ${DEFAULT_PGBOUNCER_IMAGE} or another release from ${SCRAM_PASS_THROUGH_VERSION}`,
        );
    }
}

/** The application's own pool (one instance) must fit through the pooler. */
function poolerFitsClient(pooling: PoolingConfig, client: ClientPoolConfig, ctx: Context): void {
    const clientMax = client.poolSize + client.maxOverflow;
    const clientParts = `client.poolSize ${client.poolSize} + client.maxOverflow ${client.maxOverflow} = ${clientMax}`;
    if (pooling.maxClientConn < clientMax) {
        fail(
            ctx,
            "pooling.maxClientConn",
            pooling.maxClientConn,
            `must be at least ${clientParts}, or PgBouncer refuses the application's overflow connections; raise it or lower the client pool`,
        );
    }
    // In session mode a client holds its server connection until it disconnects, and an application
    // pool keeps its connections open: the ones beyond the server pool would wait until query_wait_timeout.
    const serverMax = pooling.defaultPoolSize + pooling.reservePoolSize;
    if (pooling.mode === "session" && clientMax > serverMax) {
        fail(
            ctx,
            "pooling.mode",
            pooling.mode,
            `holds one server connection per application connection, but ${clientParts} exceeds pooling.defaultPoolSize ${pooling.defaultPoolSize} + pooling.reservePoolSize ${pooling.reservePoolSize} = ${serverMax}; use transaction mode, raise the server pool (and maxConnections) or lower the client pool`,
        );
    }
}

/** A tag or digest pins what `pulumi up` runs; no tag or :latest changes under the stack between two runs. */
function pinnedRule(key: string, image: string, ctx: Context): void {
    let reference: ImageReference;
    try {
        reference = parseImageReference(image);
    } catch (error) {
        if (error instanceof ImageReferenceError) {
            fail(ctx, key, image, `is not an image reference: it ${error.reason}; for example ${DEFAULT_PGBOUNCER_IMAGE}`);
            return;
        }
        throw error;
    }
    // latest, stable, alpine, edge: a tag without a version moves under the stack, and says nothing of what the ini may hold.
    if (reference.digest === undefined && (reference.tag === undefined || !/\d/.test(reference.tag))) {
        fail(ctx, key, image, `must be pinned to a version tag or a digest (for example ${DEFAULT_PGBOUNCER_IMAGE})`);
    }
}

function roleRules(config: StackConfig, ctx: Context): void {
    if (config.appRole === config.adminRole) {
        // Blame the one that was changed from its default: that is the key the user set.
        const key = config.adminRole === "memory_admin" ? "appRole" : "adminRole";
        fail(ctx, key, config[key], `must differ from ${key === "appRole" ? "adminRole" : "appRole"}`);
        return;
    }
    for (const key of ["appRole", "adminRole"] as const) {
        if (isReservedRoleName(config[key])) {
            fail(ctx, key, config[key], RESERVED_ROLE_RULE);
        }
        if (config[key] === config.user) {
            fail(ctx, key, config[key], `must differ from the owner user (${config.user}): the owner bypasses row level security`);
        }
        if (!config.createRoles && loginFor(config[key]).length > 63) {
            fail(ctx, key, config[key], `is too long for its login role ${loginFor(config[key])}: use at most 57 characters`);
        }
        if (!config.createRoles) {
            loginNameRules(config, key, ctx);
        }
    }
    if (!config.createRoles && config.pooling.enabled) {
        fail(
            ctx,
            "createRoles",
            false,
            "needs pooling.enabled: false: the roles' logins become them through a startup option, which PgBouncer drops; set createRoles: true (the stack creates the roles with logins of their own) or pooling.enabled: false",
        );
    }
    // Those sessions serve the application's connection strings, where a claim could outlive its transaction.
    const serving = config.createRoles ? [config.appRole, config.adminRole] : [loginFor(config.appRole), loginFor(config.adminRole)];
    for (const login of config.plainClaimLogins) {
        if (login === "public") {
            fail(
                ctx,
                "plainClaimLogins",
                config.plainClaimLogins,
                "must not name public, which stands for every role (the app role's sessions too): list the login roles, like PostgREST's authenticator, that set the claims per transaction themselves",
            );
        } else if ([...serving, config.appRole, config.adminRole].includes(login)) {
            fail(
                ctx,
                "plainClaimLogins",
                config.plainClaimLogins,
                `must not name ${login}, which the stack's own connection strings log in as: their clients bind the user with memory_stack.bind_user; list only logins like PostgREST's authenticator that set the claims per transaction themselves`,
            );
        }
    }
}

/**
 * createRoles false creates `<role>_login` for each role: a login that is the other role would make the app's
 * connection string that role (the admin role sees every row once the session resets its role), and one that
 * is the owner cannot be created (or would hand the application the owner's rights).
 */
function loginNameRules(config: StackConfig, key: "appRole" | "adminRole", ctx: Context): void {
    const login = loginFor(config[key]);
    const other = key === "appRole" ? "adminRole" : "appRole";
    if (login === config[other]) {
        fail(
            ctx,
            other,
            config[other],
            `is the name of the login createRoles: false creates for ${key} ${config[key]} (${login}): choose names where neither role is the other's login`,
        );
    } else if (login === config.user) {
        fail(ctx, key, config[key], `gets the login ${login} with createRoles: false, which is the owner user: choose another ${key}`);
    }
}

/** Names that reach initdb, CREATE DATABASE and pgbouncer.ini and that those refuse, or take for something else. */
function nameRules(config: StackConfig, ctx: Context): void {
    const docker = config.provisioner === "docker";
    if (docker && isReservedRoleName(config.user)) {
        fail(ctx, "user", config.user, `${RESERVED_ROLE_RULE}; the image's initdb refuses it as the owner`);
    }
    if (TEMPLATE_DATABASES.includes(config.database)) {
        const rule =
            "is a template database: every CREATE DATABASE copies template1 (the memory tables and their rows would be in each new database), and template0 takes no connections; name a database of your own";
        fail(
            ctx,
            docker ? "database" : "databaseUrl",
            docker ? config.database : "[secret]",
            docker ? rule : `names ${config.database}, which ${rule}`,
        );
    }
    if (docker && config.pooling.enabled && config.database === "pgbouncer") {
        fail(
            ctx,
            "database",
            config.database,
            "is the name of PgBouncer's admin console, which PgBouncer refuses as a database (it would not start); name another database or set pooling.enabled: false",
        );
    }
}

/** The login that can only become `role`, where the role exists already (createRoles false): the authenticator pattern. */
export function loginFor(role: string): string {
    return `${role}_login`;
}

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

function budgetRules(config: StackConfig, ctx: Context): void {
    if (config.superuserReservedConnections >= config.maxConnections) {
        fail(
            ctx,
            "superuserReservedConnections",
            config.superuserReservedConnections,
            `must be below maxConnections (${config.maxConnections})`,
        );
        return;
    }
    if (config.provisioner === "external") {
        return; // the managed server's max_connections is not ours to set
    }
    const budget = connectionBudget(config);
    if (budget.needed > budget.available) {
        fail(
            ctx,
            "maxConnections",
            config.maxConnections,
            `${budget.parts} = ${budget.needed} connections, but maxConnections ${config.maxConnections} - superuserReservedConnections ${config.superuserReservedConnections} leaves ${budget.available}; raise maxConnections to at least ${budget.needed + config.superuserReservedConnections} or lower the pool sizes`,
        );
    }
}

/** A PostgreSQL 15 image, by its tag or by imageMajorVersion (engine/config/image.ts); with vector on, a pgvector one. */
function imageRules(config: StackConfig, ctx: Context): void {
    let image: PostgresImage;
    try {
        image = checkPostgresImage(config.image, config.imageMajorVersion);
    } catch (error) {
        if (error instanceof ConfigError) {
            fail(ctx, error.key, error.value, error.allowed);
            return;
        }
        throw error;
    }
    if (config.vector && !image.reference.repository.includes("pgvector")) {
        fail(
            ctx,
            "image",
            config.image,
            `has no pgvector, which vector: true needs; use ${DEFAULT_VECTOR_IMAGE} (or leave image unset) or set vector: false`,
        );
    }
}
