// PgBouncer beside the docker server: a pinned image, a container on the stack's network with the
// rendered pgbouncer.ini and auth file uploaded into it, a healthcheck, and the pooled host port.
// Also the client-side pool settings the application should use, pooled or not.
//
// The auth file holds only the roles applications log in as, never the owner or a superuser: the
// owner connects directly. The rendered config resets every server session after each transaction
// (engine/render/pgbouncer.ts), so no client's session settings, a user id above all, reach another.
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import type { PoolMode, PoolingConfig, StackConfig } from "../engine/config/config";
import { connectionUrl } from "../engine/db/url";
import {
    AUTH_FILE_PATH,
    CONFIG_PATH,
    PGBOUNCER_PORT,
    pgbouncerSettings,
    pgbouncerVersionFromImage,
    renderAuthFile,
    renderPgBouncerIni,
} from "../engine/render/pgbouncer";

/** PgBouncer's safe shutdown: it stops taking clients and lets each server connection finish its transaction. */
export const PGBOUNCER_STOP_SIGNAL = "SIGINT";
/** How long PgBouncer's safe shutdown may wait for transactions in flight before docker kills it. */
export const PGBOUNCER_STOP_GRACE_SECONDS = 30;

export interface PoolerUser {
    /** Role name, as the application logs in. */
    name: pulumi.Input<string>;
    /** The role's password (a secret); the first user's makes the pooled URL. At least one of password and scramVerifier. */
    password?: pulumi.Input<string>;
    /** The role's SCRAM verifier exactly as PostgreSQL stores it: the auth file holds it rather than the password. */
    scramVerifier?: pulumi.Input<string>;
    /** PgBouncer admin console access: admin (every command) or stats (SHOW only). Default: none. */
    console?: "admin" | "stats";
}

export interface PoolerArgs {
    /** Pool mode, pool sizes, client limit, host port and image (StackConfig.pooling). */
    pooling: PoolingConfig;
    /** Name of the docker network the server is on; the pooler joins it. */
    networkName: pulumi.Input<string>;
    /** The server's host name on that network (its container name). */
    serverHost: pulumi.Input<string>;
    /** The server's port on that network. Default: 5432. */
    serverPort?: number;
    /** The database clients reach through the pooler (plain config value). */
    database: string;
    /** The roles that connect through the pooler, the app role first; never the owner or a superuser (see pooledRoles). */
    users: PoolerUser[];
    /** Host name clients on this machine use for the pooled port. Default: localhost. */
    host?: pulumi.Input<string>;
    /** The host address the pooled port is published on (config bindAddress); PostgreSQL is reached over the network, not this. */
    bindAddress: string;
    /** PgBouncer version the image runs, for version-gated settings. Default: read from the image tag. */
    pgbouncerVersion?: string;
}

export class Pooler extends pulumi.ComponentResource {
    /** Host name clients use. */
    readonly host: pulumi.Output<string>;
    /** The pooled port on the host. */
    readonly port: pulumi.Output<number>;
    /** The container's name, its host name on the network. */
    readonly containerName: pulumi.Output<string>;
    /** The rendered pgbouncer.ini (no secrets in it). */
    readonly configFile: pulumi.Output<string>;
    /** The first user's (the app role's) connection string through the pooler, a secret. */
    readonly connectionString: pulumi.Output<string>;

    constructor(name: string, args: PoolerArgs, opts?: pulumi.ComponentResourceOptions) {
        super("memory-stack:index:Pooler", name, {}, opts);
        const { pooling, users } = args;
        if (users.length === 0 || users[0].password === undefined) {
            throw new Error(`${name}: the pooler needs the app role, with its password, as its first user`);
        }
        const version = args.pgbouncerVersion ?? pgbouncerVersionFromImage(pooling.image);

        this.configFile = pulumi.all([pulumi.all(users.map((user) => user.name)), args.serverHost]).apply(([names, serverHost]) =>
            renderPgBouncerIni(
                pgbouncerSettings(
                    { database: args.database, pooling },
                    {
                        serverHost,
                        serverPort: args.serverPort ?? 5432,
                        adminUsers: names.filter((_, i) => users[i].console === "admin"),
                        statsUsers: names.filter((_, i) => users[i].console === "stats"),
                        version,
                    },
                ),
            ),
        );
        // PgBouncer can log in to PostgreSQL with a SCRAM verifier only when it is identical to the role's stored
        // one: the stack's roles got theirs from the stack (components/access.ts), so the file holds those and no
        // password. A user without one (given only a password) is written with its password, in a secret.
        const authFile = pulumi.secret(
            pulumi
                .all(users.map((user) => pulumi.all([user.name, user.password, user.scramVerifier])))
                .apply((rows) =>
                    renderAuthFile(
                        rows.map(([userName, password, scramVerifier]) =>
                            scramVerifier === undefined ? { name: userName, password } : { name: userName, scramVerifier },
                        ),
                    ),
                ),
        );

        const image = new docker.RemoteImage(`${name}-image`, { name: pooling.image, keepLocally: true }, { parent: this });
        const containerName = `${name}-pgbouncer`;
        const container = new docker.Container(
            containerName,
            {
                name: containerName,
                image: image.imageId,
                // PgBouncer straight on the uploaded files: the image's entrypoint would build a config from env vars.
                entrypoints: ["pgbouncer"],
                command: [CONFIG_PATH],
                // Uploads belong to root and PgBouncer runs as the image's unprivileged user, so both files are 0644;
                // only PgBouncer runs in this container.
                uploads: [
                    { file: CONFIG_PATH, content: this.configFile, permissions: "0644" },
                    { file: AUTH_FILE_PATH, content: authFile, permissions: "0644" },
                ],
                healthcheck: {
                    tests: ["CMD-SHELL", listeningCheck(PGBOUNCER_PORT)],
                    interval: "2s",
                    timeout: "3s",
                    retries: 15,
                    startPeriod: "1s",
                },
                wait: true,
                waitTimeout: 60,
                // SIGTERM would wait for every client to disconnect (PgBouncer 1.23+), which a pooled application never does.
                stopSignal: PGBOUNCER_STOP_SIGNAL,
                stopTimeout: PGBOUNCER_STOP_GRACE_SECONDS,
                destroyGraceSeconds: PGBOUNCER_STOP_GRACE_SECONDS,
                restart: "unless-stopped",
                ports: [{ internal: PGBOUNCER_PORT, external: pooling.hostPort, ip: args.bindAddress }],
                networksAdvanced: [{ name: args.networkName, aliases: ["pgbouncer"] }],
            },
            // Its name and host port are fixed: a replacement (a role's new verifier in the auth file, a new pgbouncer.ini)
            // created beside the old container would find both taken.
            { parent: this, additionalSecretOutputs: ["uploads"], deleteBeforeReplace: true },
        );

        this.containerName = container.name;
        this.host = pulumi.output(args.host ?? "localhost");
        this.port = pulumi.output(pooling.hostPort);
        const [first] = users;
        this.connectionString = pulumi.secret(
            pulumi
                .all([this.host, first.name, first.password as pulumi.Input<string>])
                .apply(([host, user, password]) =>
                    connectionUrl({ host, port: pooling.hostPort, database: args.database, user, password, sslMode: "disable" }),
                ),
        );
        this.registerOutputs({
            host: this.host,
            port: this.port,
            containerName: this.containerName,
            connectionString: this.connectionString,
        });
    }
}

/**
 * The healthcheck: PgBouncer's port is in LISTEN state (0A) in /proc/net/tcp. PgBouncer binds it only after
 * it loaded the config and the auth file, and the check needs no client tools, which slim images lack.
 * PostgreSQL's own health is the server container's healthcheck.
 */
export function listeningCheck(port: number): string {
    const hex = port.toString(16).toUpperCase().padStart(4, "0");
    return `grep -qE '^ *[0-9]+: [0-9A-F]{8}:${hex} [0-9A-F]{8}:0000 0A' /proc/net/tcp`;
}

/** What the application's own pool should use (SQLAlchemy: pool_size, max_overflow, pool_timeout, pool_recycle, pool_pre_ping). */
export interface ClientPoolSettings {
    poolSize: number;
    maxOverflow: number;
    poolTimeoutSeconds: number;
    poolRecycleSeconds: number;
    prePing: boolean;
    /** What the pooled URL runs behind: PgBouncer's pool mode, or direct when pooling is off. */
    poolMode: PoolMode | "direct";
}

export function clientPoolSettings(config: Pick<StackConfig, "client" | "pooling">): ClientPoolSettings {
    return { ...config.client, poolMode: config.pooling.enabled ? config.pooling.mode : "direct" };
}
