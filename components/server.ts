// The PostgreSQL 15 server. docker: network, data volume, image and a container that Pulumi waits
// on until its healthcheck passes. external: nothing to create, only the validated connection.
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import type { StackConfig } from "../engine/config/config";
import { stackSchemaOptions } from "../engine/config/schema-options";
import type { ConnectionSettings } from "../engine/db/url";
import { PACKAGE_ROOT } from "../engine/paths";
import { DeployGuard } from "./deploy-guard";

/** Where the start script is uploaded in the container (on PATH in the postgres and pgvector images). */
export const START_SCRIPT = "/usr/local/bin/memory-stack-postgres";
/** The start script in this package. */
export const START_SCRIPT_SOURCE = path.join(PACKAGE_ROOT, "components", "server", "postgres-start.sh");
/** PostgreSQL's fast shutdown: sessions end at once, then the shutdown checkpoint; no crash recovery on the next start. */
export const POSTGRES_STOP_SIGNAL = "SIGINT";
/**
 * How long PostgreSQL may take to stop before docker kills it: a fast shutdown ends the sessions at once,
 * then writes every dirty buffer in its shutdown checkpoint. PostgreSQL's docs warn that even 90 s can be short.
 */
export const POSTGRES_STOP_GRACE_SECONDS = 120;

export interface ServerArgs {
    /** The validated stack configuration (engine/config/config.ts). */
    config: StackConfig;
}

export class Server extends pulumi.ComponentResource {
    /** Host name clients on this machine use. */
    readonly host: pulumi.Output<string>;
    /** Port clients on this machine use (the container's published port in docker mode). */
    readonly port: pulumi.Output<number>;
    readonly database: pulumi.Output<string>;
    readonly user: pulumi.Output<string>;
    /** The owner's password, always a secret. */
    readonly password: pulumi.Output<string>;
    /** Direct connection settings for migrations and admin work, a secret. */
    readonly connection: pulumi.Output<ConnectionSettings>;
    /** docker mode: the network the pooler joins; undefined in external mode. */
    readonly network?: docker.Network;
    /** docker mode: the container's name, its host name on the network. */
    readonly containerName?: pulumi.Output<string>;
    /** The deploy guard (components/deploy-guard.ts): the stack's first step; everything that changes the server comes after it. */
    readonly guard: DeployGuard;
    /** Resources to depend on before connecting: the healthy container (docker, itself after the guard) or the guard (external). */
    readonly ready: pulumi.Resource[];

    constructor(name: string, args: ServerArgs, opts?: pulumi.ComponentResourceOptions) {
        super("memory-stack:index:Server", name, {}, opts);
        const { config } = args;
        // Wrapped secret explicitly, not only through the random provider's schema: it travels into envs and URLs.
        const password = pulumi.secret(
            config.password !== undefined
                ? pulumi.output(config.password)
                : new random.RandomPassword(`${name}-password`, { length: 32, special: false }, { parent: this }).result,
        );

        this.host = pulumi.output(config.host);
        this.port = pulumi.output(config.hostPort);
        this.database = pulumi.output(config.database);
        this.user = pulumi.output(config.user);
        this.password = password;
        this.connection = pulumi.secret(
            pulumi.all([this.password]).apply(([secretPassword]) => ({
                host: config.host,
                port: config.hostPort,
                database: config.database,
                user: config.user,
                password: secretPassword,
                sslMode: config.sslMode,
                ...(config.sslRootCert === undefined ? {} : { sslRootCert: config.sslRootCert }),
                ...(config.connectTimeoutSeconds === undefined ? {} : { connectTimeoutSeconds: config.connectTimeoutSeconds }),
            })),
        );
        // Before anything that changes the server: refuses what the deployed schema or volume cannot take (deploy-guard.ts).
        this.guard = new DeployGuard(
            `${name}-guard`,
            {
                connection: this.connection,
                schema: stackSchemaOptions(config),
                ...(config.provisioner === "docker" ? { serverImage: config.image } : {}),
            },
            { parent: this },
        );

        if (config.provisioner === "docker") {
            const network = new docker.Network(`${name}-network`, { name: `${name}-network` }, { parent: this });
            const volume = new docker.Volume(
                `${name}-data`,
                { name: `${name}-data` },
                { parent: this, retainOnDelete: config.retainVolumeOnDestroy },
            );
            const image = new docker.RemoteImage(`${name}-image`, { name: config.image, keepLocally: true }, { parent: this });
            const containerName = `${name}-postgres`;
            const container = new docker.Container(
                `${name}-postgres`,
                {
                    name: containerName,
                    image: image.imageId,
                    envs: [
                        `POSTGRES_DB=${config.database}`,
                        `POSTGRES_USER=${config.user}`,
                        pulumi.interpolate`POSTGRES_PASSWORD=${password}`,
                    ],
                    // Our start script, then the image's own entrypoint: it gives the owner the stack's password on every start.
                    entrypoints: [START_SCRIPT],
                    command: postgresCommand(config),
                    uploads: [{ file: START_SCRIPT, content: postgresStartScript(), permissions: "0755" }],
                    // docker's init as PID 1: it reaps the script's helper and passes the stop signal on to PostgreSQL.
                    init: true,
                    // Passes once the server answers over TCP (the image's init-time server listens on the socket
                    // only) and has the stack's password (components/server/postgres-start.sh).
                    healthcheck: {
                        tests: ["CMD", START_SCRIPT, "healthcheck"],
                        interval: "2s",
                        timeout: "5s",
                        retries: 30,
                        startPeriod: "5s",
                    },
                    wait: true,
                    waitTimeout: 180,
                    // A fast shutdown (SIGINT) with time to write its shutdown checkpoint, on docker stop and on
                    // destroy or replace alike; a kill would leave crash recovery to the next start.
                    stopSignal: POSTGRES_STOP_SIGNAL,
                    stopTimeout: POSTGRES_STOP_GRACE_SECONDS,
                    destroyGraceSeconds: POSTGRES_STOP_GRACE_SECONDS,
                    restart: "unless-stopped",
                    // On bindAddress only (127.0.0.1 by default): docker's default, every interface, passes host firewalls.
                    ports: [{ internal: 5432, external: config.hostPort, ip: config.bindAddress }],
                    volumes: [{ volumeName: volume.name, containerPath: "/var/lib/postgresql/data" }],
                    networksAdvanced: [{ name: network.name, aliases: ["postgres"] }],
                },
                // Never two servers on one data directory: the old container stops before its replacement starts.
                { parent: this, additionalSecretOutputs: ["envs"], deleteBeforeReplace: true, dependsOn: [this.guard] },
            );
            this.network = network;
            this.containerName = container.name;
            this.ready = [container];
        } else {
            this.ready = [this.guard];
        }

        this.registerOutputs({ host: this.host, port: this.port, database: this.database, connection: this.connection });
    }
}

export function postgresStartScript(): string {
    return readFileSync(START_SCRIPT_SOURCE, "utf8");
}

/** PostgreSQL settings on the command line, so they take effect on every start, not only the first init. */
export function postgresCommand(config: StackConfig): string[] {
    return [
        "postgres",
        "-c",
        `max_connections=${config.maxConnections}`,
        "-c",
        `superuser_reserved_connections=${config.superuserReservedConnections}`,
        "-c",
        "password_encryption=scram-sha-256",
    ];
}
