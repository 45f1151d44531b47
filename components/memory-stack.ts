// The whole stack as one component: server, then (as they land) pooler, access, schema and verification.
// Children are named from this component's name, which index.ts derives from the stack's name.
import * as pulumi from "@pulumi/pulumi";
import { Access } from "./access";
import type { StackConfig } from "./config";
import { connectionUrl } from "./connection";
import { Server } from "./server";

export interface MemoryStackArgs {
    /** The validated stack configuration (components/config.ts). */
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

    constructor(name: string, args: MemoryStackArgs, opts?: pulumi.ComponentResourceOptions) {
        super("memory-stack:index:MemoryStack", name, {}, opts);
        const { config } = args;
        this.server = new Server(`${name}-server`, { config }, { parent: this });

        this.host = this.server.host;
        this.port = this.server.port;
        this.database = this.server.database;
        this.connectionString = pulumi.secret(this.server.connection.apply(connectionUrl));
        // One KEY=value line per connection the application may use; children add theirs before dotenv is built.
        const dotenvLines: pulumi.Output<string>[] = [pulumi.interpolate`DATABASE_URL=${this.connectionString}`];

        this.access = new Access(`${name}-access`, {
            config,
            host: this.server.host,
            port: this.server.port,
            user: this.server.user,
            password: this.server.password,
            ready: this.server.ready,
        }, { parent: this });
        this.appConnectionString = this.access.appConnectionString;
        this.adminConnectionString = this.access.adminConnectionString;
        dotenvLines.push(...this.access.dotenvLines);
        // Schema hook: the migration names the roles in its policies, and its rollback must run
        // before they are dropped, so it takes { dependsOn: [...this.server.ready, ...this.access.beforeSchema] }.
        // The grants need its tables, and are revoked before it rolls back:
        //   new Grants(`${name}-grants`, { config, provider: this.access.provider, database: this.access.database,
        //       appRole: this.access.appRole, adminRole: this.access.adminRole, schema: [schema] }, { parent: this });

        this.dotenv = pulumi.secret(pulumi.all(dotenvLines).apply((lines) => lines.join("\n") + "\n"));

        this.registerOutputs({
            host: this.host,
            port: this.port,
            database: this.database,
            connectionString: this.connectionString,
            appConnectionString: this.appConnectionString,
            adminConnectionString: this.adminConnectionString,
            dotenv: this.dotenv,
        });
    }
}
