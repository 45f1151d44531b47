// The whole stack as one component: server, access (roles), pooler, schema, grants and verification.
// Children are named from this component's name, which index.ts derives from the stack's name.
import * as pulumi from "@pulumi/pulumi";
import { Access } from "./access";
import type { StackConfig } from "../engine/config/config";
import { stackSchemaOptions } from "../engine/config/schema-options";
import { connectionUrl } from "../engine/db/url";
import { dotenvLine } from "../engine/render/dotenv";
import { pgbouncerVersionFromImage, pooledRoles } from "../engine/render/pgbouncer";
import { clientPoolSettings, Pooler, type ClientPoolSettings, type PoolerUser } from "./pooler";
import { Grants } from "./grants";
import { SchemaMigration } from "./schema-migration";
import { Server } from "./server";
import { Verification } from "./verification";

export interface MemoryStackArgs {
    /** The validated stack configuration (engine/config/config.ts). */
    config: StackConfig;
}

export class MemoryStack extends pulumi.ComponentResource {
    readonly server: Server;
    readonly host: pulumi.Output<string>;
    readonly port: pulumi.Output<number>;
    readonly database: pulumi.Output<string>;
    /** The owner's direct connection string (migrations, admin work), a secret. */
    readonly connectionString: pulumi.Output<string>;
    /** A DATABASE_URL block for the application's .env, a secret. */
    readonly dotenv: pulumi.Output<string>;
    /** Provider, database, app and admin roles (components/access.ts). */
    readonly access: Access;
    /** The app role's (RLS subject's) connection string, a secret. */
    readonly appConnectionString: pulumi.Output<string>;
    /** The admin role's connection string, a secret. */
    readonly adminConnectionString: pulumi.Output<string>;
    /** PgBouncer (docker with pooling.enabled); undefined otherwise. */
    readonly pooler?: Pooler;
    /** The pooled port on the host; undefined without a pooler. */
    readonly pooledPort?: pulumi.Output<number>;
    /** The app role's connection string through PgBouncer, a secret; undefined without a pooler. The owner never goes through it. */
    readonly pooledConnectionString?: pulumi.Output<string>;
    /** The application's own pool settings (components/pooler.ts). */
    readonly clientPoolSettings: ClientPoolSettings;
    /** The memory schema, applied by migrations (components/schema-migration.ts); deleting it is the rollback. */
    readonly schema: SchemaMigration;
    /** The post-deploy check (components/verification.ts); its summary is the `verification` output. */
    readonly verification: Verification;

    constructor(name: string, args: MemoryStackArgs, opts?: pulumi.ComponentResourceOptions) {
        super("memory-stack:index:MemoryStack", name, {}, opts);
        const { config } = args;
        this.server = new Server(`${name}-server`, { config }, { parent: this });

        this.host = this.server.host;
        this.port = this.server.port;
        this.database = this.server.database;
        this.connectionString = pulumi.secret(this.server.connection.apply(connectionUrl));
        // One KEY=value line per connection the application may use; children add theirs before dotenv is built.
        const dotenvLines: pulumi.Output<string>[] = [this.connectionString.apply((url) => dotenvLine("DATABASE_URL", url))];

        this.access = new Access(
            `${name}-access`,
            {
                config,
                host: this.server.host,
                port: this.server.port,
                user: this.server.user,
                password: this.server.password,
                ready: this.server.ready,
            },
            { parent: this },
        );
        this.appConnectionString = this.access.appConnectionString;
        this.adminConnectionString = this.access.adminConnectionString;
        dotenvLines.push(...this.access.dotenvLines);
        const [appLogin, adminLogin] = this.access.logins;
        if (config.provisioner === "docker" && config.pooling.enabled && this.server.network && this.server.containerName && appLogin) {
            // The roles applications log in as, never the owner; the admin role only on a PgBouncer it cannot be impersonated on.
            const users = pooledRoles<PoolerUser>(pgbouncerVersionFromImage(config.pooling.image), {
                app: appLogin,
                admin: { ...adminLogin, console: "stats" },
            });
            this.pooler = new Pooler(
                `${name}-pooler`,
                {
                    pooling: config.pooling,
                    networkName: this.server.network.name,
                    serverHost: this.server.containerName,
                    database: config.database,
                    users,
                    host: config.host,
                    bindAddress: config.bindAddress,
                },
                // After the roles: the auth file's verifiers let PgBouncer log in only once PostgreSQL stores them.
                { parent: this, dependsOn: [...this.server.ready, ...this.access.roles] },
            );
            this.pooledPort = this.pooler.port;
            // What the application should use: the RLS-subject role, through PgBouncer.
            this.pooledConnectionString = this.pooler.connectionString;
            dotenvLines.push(this.pooledConnectionString.apply((url) => dotenvLine("MEMORY_APP_POOLED_DATABASE_URL", url)));
        }
        this.clientPoolSettings = clientPoolSettings(config);
        // The migration names the roles in its policies, and its rollback must run before they are
        // dropped: it depends on them. Direct connection, never the pooler (the advisory lock needs a session).
        const schemaOptions = stackSchemaOptions(config);
        this.schema = new SchemaMigration(
            `${name}-schema`,
            {
                connection: this.server.connection,
                schema: schemaOptions,
                allowDataLoss: config.allowDataLoss,
                locks: { timeoutMs: config.migration.lockTimeoutMs, deadlineSeconds: config.migration.lockDeadlineSeconds },
                maintenanceWorkMemMb: config.migration.maintenanceWorkMemMb,
                searchSettings: { hnswEfSearch: config.vectorEfSearch, ivfflatProbes: config.vectorProbes },
                ...(config.provisioner === "docker" ? { serverImage: config.image } : {}),
            },
            { parent: this, dependsOn: [...this.server.ready, ...this.access.beforeSchema], protect: config.protect },
        );
        // The grants need its tables, and are revoked before it rolls back.
        const grants = new Grants(
            `${name}-grants`,
            {
                config,
                provider: this.access.provider,
                database: this.access.database,
                appRole: this.access.appRole,
                adminRole: this.access.adminRole,
                schema: [this.schema],
                authenticators: this.access.authenticators,
            },
            { parent: this },
        );
        // Runs when the schema, its options or the connection change (and on refresh), once the schema and its grants are in
        // place; direct connection (one session per check run).
        this.verification = new Verification(
            `${name}-verification`,
            {
                connection: this.server.connection,
                schema: schemaOptions,
                schemaChecksum: this.schema.checksum,
            },
            { parent: this, dependsOn: [this.schema, grants] },
        );

        this.dotenv = pulumi.secret(pulumi.all(dotenvLines).apply((lines) => lines.join("\n") + "\n"));

        this.registerOutputs({
            host: this.host,
            port: this.port,
            database: this.database,
            connectionString: this.connectionString,
            appConnectionString: this.appConnectionString,
            adminConnectionString: this.adminConnectionString,
            pooledPort: this.pooledPort,
            pooledConnectionString: this.pooledConnectionString,
            clientPoolSettings: this.clientPoolSettings,
            dotenv: this.dotenv,
            schemaVersion: this.schema.version,
            schemaChecksum: this.schema.checksum,
            schemaVariant: this.schema.variant,
            verification: this.verification.summary,
        });
    }
}
