// Who may connect, and as whom: a @pulumi/postgresql provider on the server's direct connection,
// the database where an external server lacks it, and the app (RLS subject) and admin roles with
// generated passwords. No connection string the application gets can become the owner: where the
// stack creates the roles, each logs in as itself; where they exist already (Supabase's
// authenticated and service_role), each gets a login of its own that can only become it, the
// authenticator pattern: LOGIN, NOINHERIT, member of that one role (granted by grants.ts, after the
// schema, which creates a missing role), connecting with `options=-c role=<role>`; a `reset role`
// leaves it with no privilege at all. The grants on the memory objects are a separate component
// (grants.ts) because they must come after the schema while the roles must come before it:
//
//   Access (provider, roles) ─► schema migration ─► Grants
//
// On `pulumi destroy` Pulumi reverses that: grants are revoked, the schema rolls back, and only
// then are the roles dropped, so no role is left owning or granted anything.
//
// Extensions are not declared here. The schema's first migration creates uuid-ossp (and vector)
// only where missing and records that in memory_stack.owned_objects; its rollback drops them
// only when it created them and nothing else depends on them. A postgresql.Extension would
// adopt an extension the application already had and drop it on destroy (or fail, when the
// application's tables use it), and two owners would drop it twice.
import * as postgresql from "@pulumi/postgresql";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import type { StackConfig } from "../engine/config/config";
import { loginFor } from "../engine/config/rules";
import { connectionUrl, type ConnectionSettings } from "../engine/db/url";
import { dotenvLine } from "../engine/render/dotenv";
import { scramVerifier } from "../engine/render/scram";

/** Where an external server's database is created from: it always exists. */
export const MAINTENANCE_DATABASE = "postgres";
/** Seconds the provider waits for a connection before it fails the update. */
export const CONNECT_TIMEOUT_SECONDS = 15;

export interface AccessArgs {
    /** The validated stack configuration (engine/config/config.ts). */
    config: StackConfig;
    /** The server's host name for the direct connection (not the pooler). */
    host: pulumi.Input<string>;
    /** The server's port for the direct connection. */
    port: pulumi.Input<number>;
    /** The owner user the provider connects as. */
    user: pulumi.Input<string>;
    /** The owner's password; kept secret. */
    password: pulumi.Input<string>;
    /** Resources to wait for before the provider connects: the healthy container (docker). Default: none. */
    ready?: pulumi.Resource[];
}

export class Access extends pulumi.ComponentResource {
    /** The provider every postgresql resource of the stack uses, connected to the memory database. */
    readonly provider: postgresql.Provider;
    /** The database the memory schema lives in (created here only with createDatabase). */
    readonly database: pulumi.Output<string>;
    /** The roles created here: the app and admin roles, or (createRoles false) their logins. */
    readonly roles: postgresql.Role[];
    /** createRoles false: each login and the role it may become, for Grants to make it a member once the schema ran. */
    readonly authenticators: { login: pulumi.Output<string>; role: string }[];
    /** What the schema migration must depend on: the roles its policies name (and the owner's membership in them), and the database when created here. */
    readonly beforeSchema: pulumi.Resource[];
    /** The RLS-subject role's name; an Output of the Role when it is created here. */
    readonly appRole: pulumi.Output<string>;
    /** The admin role's name; an Output of the Role when it is created here. */
    readonly adminRole: pulumi.Output<string>;
    /** The app role's direct connection string, a secret. */
    readonly appConnectionString: pulumi.Output<string>;
    /** The admin role's direct connection string, a secret. */
    readonly adminConnectionString: pulumi.Output<string>;
    /** Lines for the application's .env, secrets. */
    readonly dotenvLines: pulumi.Output<string>[];
    /**
     * The app and then the admin role's own login, secret password and the SCRAM verifier PostgreSQL stores
     * for it, for the pooler (none when createRoles is false).
     */
    readonly logins: { name: pulumi.Output<string>; password: pulumi.Output<string>; scramVerifier: pulumi.Output<string> }[];

    constructor(name: string, args: AccessArgs, opts?: pulumi.ComponentResourceOptions) {
        super("memory-stack:index:Access", name, {}, opts);
        const { config } = args;
        const ready = args.ready ?? [];
        const password = pulumi.secret(args.password);
        const connection = (database: pulumi.Input<string>): postgresql.ProviderArgs => ({
            host: args.host,
            port: args.port,
            username: args.user,
            password,
            database,
            sslmode: config.sslMode,
            sslrootcert: config.sslRootCert,
            // The docker image's POSTGRES_USER is a superuser; a managed server's owner never is
            // (Supabase's postgres, RDS's master user), and the provider must not assume it.
            superuser: config.provisioner === "docker",
            connectTimeout: config.connectTimeoutSeconds ?? CONNECT_TIMEOUT_SECONDS,
            // The provider shares the connections budgeted for the stack's own direct work.
            maxConnections: config.directConnections,
        });

        let database: pulumi.Output<string> = pulumi.output(config.database);
        const after: pulumi.Resource[] = [...ready];
        let createdDatabase: postgresql.Database | undefined;
        if (config.createDatabase) {
            const bootstrap = new postgresql.Provider(`${name}-bootstrap`, connection(MAINTENANCE_DATABASE), {
                parent: this,
                dependsOn: ready,
            });
            // Kept on destroy like the docker volume: the database may by then hold the
            // application's own tables, and dropping it would lose them silently.
            const created = new postgresql.Database(
                `${name}-database`,
                { name: config.database },
                { parent: this, provider: bootstrap, retainOnDelete: config.retainVolumeOnDestroy },
            );
            database = created.name;
            after.push(created);
            createdDatabase = created;
        }
        this.database = database;
        this.provider = new postgresql.Provider(`${name}-provider`, connection(database), { parent: this, dependsOn: after });

        const owner: pulumi.Output<ConnectionSettings> = pulumi
            .all([args.host, args.port, args.user, password, database])
            .apply(([host, port, user, secretPassword, db]) => ({
                host,
                port,
                user,
                password: secretPassword,
                database: db,
                sslMode: config.sslMode,
                ...(config.sslRootCert === undefined ? {} : { sslRootCert: config.sslRootCert }),
                ...(config.connectTimeoutSeconds === undefined ? {} : { connectTimeoutSeconds: config.connectTimeoutSeconds }),
            }));

        const memberships: postgresql.GrantRole[] = [];
        if (config.createRoles) {
            const app = this.role(`${name}-app`, config.appRole);
            const admin = this.role(`${name}-admin`, config.adminRole);
            this.roles = [app.role, admin.role];
            this.authenticators = [];
            this.logins = [
                { name: app.role.name, password: app.password, scramVerifier: app.verifier },
                { name: admin.role.name, password: admin.password, scramVerifier: admin.verifier },
            ];
            this.appRole = app.role.name;
            this.adminRole = admin.role.name;
            this.appConnectionString = loginUrl(owner, app.role.name, app.password);
            this.adminConnectionString = loginUrl(owner, admin.role.name, admin.password);
            if (config.provisioner === "external") {
                // The verification sets role to each to check row level security as it; a managed server's owner made
                // them with CREATEROLE, which in PostgreSQL 15 gives it no membership. Being the roles' member gives
                // the owner nothing it lacks; the reverse is what must never hold.
                for (const [key, role] of [
                    ["app", app.role],
                    ["admin", admin.role],
                ] as const) {
                    memberships.push(
                        new postgresql.GrantRole(
                            `${name}-owner-${key}-member`,
                            { role: args.user, grantRole: role.name, withAdminOption: false },
                            { parent: this, provider: this.provider, dependsOn: [role] },
                        ),
                    );
                }
            }
        } else {
            const app = this.role(`${name}-app-login`, loginFor(config.appRole), { inherit: false });
            const admin = this.role(`${name}-admin-login`, loginFor(config.adminRole), { inherit: false });
            this.roles = [app.role, admin.role];
            this.authenticators = [
                { login: app.role.name, role: config.appRole },
                { login: admin.role.name, role: config.adminRole },
            ];
            this.logins = [];
            this.appRole = pulumi.output(config.appRole);
            this.adminRole = pulumi.output(config.adminRole);
            this.appConnectionString = loginUrl(owner, app.role.name, app.password, config.appRole);
            this.adminConnectionString = loginUrl(owner, admin.role.name, admin.password, config.adminRole);
        }
        // The memberships too: verification, which comes after the schema, takes the roles.
        this.beforeSchema = [...this.roles, ...memberships, ...(createdDatabase ? [createdDatabase] : [])];
        this.dotenvLines = [pulumi.secret(this.appConnectionString.apply((url) => dotenvLine(APP_DOTENV_KEY, url)))];

        this.registerOutputs({
            database: this.database,
            appRole: this.appRole,
            adminRole: this.adminRole,
            appConnectionString: this.appConnectionString,
            adminConnectionString: this.adminConnectionString,
        });
    }

    /** A login role with a generated password; inherit false for a login that may only become another role. */
    private role(
        prefix: string,
        roleName: string,
        options: { inherit?: false } = {},
    ): { role: postgresql.Role; password: pulumi.Output<string>; verifier: pulumi.Output<string> } {
        const password = new random.RandomPassword(
            `${prefix}-password`,
            // Letters and digits only: the password goes into URLs and .env files unescaped by hand.
            { length: 32, special: false },
            { parent: this },
        ).result;
        // Kept in state, so every up gives PostgreSQL the same verifier: no ALTER ROLE when nothing changed.
        const salt = new random.RandomId(`${prefix}-password-salt`, { byteLength: 16 }, { parent: this });
        // A verifier, not the password: the CREATE/ALTER ROLE text that carries it may be logged (engine/render/scram.ts).
        const verifier = pulumi.secret(
            pulumi.all([password, salt.b64Std]).apply(([plain, b64]) => scramVerifier(plain, Buffer.from(b64, "base64"))),
        );
        const role = new postgresql.Role(
            `${prefix}-role`,
            {
                name: roleName,
                login: true,
                // NOINHERIT: a login that may become a role holds none of its privileges until it does.
                ...(options.inherit === false ? { inherit: false } : {}),
                password: verifier,
                superuser: false,
                createDatabase: false,
                createRole: false,
                replication: false,
                // Row visibility comes from the schema's policies only: the admin role has a policy
                // that shows it every row, the app role sees its own. BYPASSRLS would need a superuser
                // to grant, which a managed server's owner is not.
                bypassRowLevelSecurity: false,
                // On delete the provider would first run REASSIGN OWNED and DROP OWNED, which silently revoke what the
                // application granted the role on its own objects. Without them DROP ROLE refuses, naming what still
                // depends on it; the stack's own grants and schema are gone by then (Grants, then the rollback).
                skipReassignOwned: true,
            },
            { parent: this, provider: this.provider, additionalSecretOutputs: ["password"] },
        );
        return { role, password: pulumi.secret(password), verifier };
    }
}

/** The .env key of the app role's connection string; DATABASE_URL stays the owner's. */
export const APP_DOTENV_KEY = "MEMORY_APP_DATABASE_URL";

function loginUrl(
    owner: pulumi.Output<ConnectionSettings>,
    login: pulumi.Input<string>,
    password: pulumi.Input<string>,
    assumedRole?: string,
): pulumi.Output<string> {
    return pulumi.secret(
        pulumi
            .all([owner, login, password])
            .apply(([settings, user, secretPassword]) => loginRoleUrl({ ...settings, user, password: secretPassword }, assumedRole)),
    );
}

/**
 * A login's URL; with `assumedRole`, libpq's `options=-c role=<role>` makes every statement of the
 * session run as that role, so row level security applies (the login must be its member).
 */
export function loginRoleUrl(settings: ConnectionSettings, assumedRole?: string): string {
    const url = connectionUrl(settings);
    if (assumedRole === undefined) {
        return url;
    }
    return `${url}${url.includes("?") ? "&" : "?"}options=${encodeURIComponent(`-c role=${assumedRole}`)}`;
}
