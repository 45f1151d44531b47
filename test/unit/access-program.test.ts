// Access and Grants under Pulumi mocks, wired the way the stack wires them:
//   server (ready) ─► Access (provider, roles) ─► schema ─► Grants
// Every registration is recorded (test/support/program.ts); children are looked up by type and name.
import * as pulumi from "@pulumi/pulumi";
import { beforeAll, describe, expect, it } from "vitest";
import { Access } from "../../components/access";
import type { RawConfig } from "../../engine/config/config";
import { Grants } from "../../components/grants";
import { privilegeRules, PRIVILEGE_RULES } from "../../engine/render/privileges";
import { configFor, installMocks, isSecret, resolve, runProgram, type MockedState, type Registered } from "../support/program";
import { scramVerifier } from "../support/scram";
import { isWrappedSecret } from "../support/secrets";

const PROVIDER = "pulumi:providers:postgresql";
const ROLE = "postgresql:index/role:Role";
const GRANT = "postgresql:index/grant:Grant";
const GRANT_ROLE = "postgresql:index/grantRole:GrantRole";
const DATABASE = "postgresql:index/database:Database";
const EXTENSION = "postgresql:index/extension:Extension";
const PASSWORD = "random:index/randomPassword:RandomPassword";

const supabaseUrl = "postgresql://postgres:supabase-secret@db.example.supabase.co:5432/postgres";
const managedUrl = "postgresql://owner:managed-secret@pg.example.com:5432/memory";

let mocked: MockedState;
beforeAll(() => {
    mocked = installMocks("dev");
});

/** A stand-in for the healthy container and for the schema migration resource. */
class Stub extends pulumi.CustomResource {
    constructor(type: string, name: string, opts?: pulumi.CustomResourceOptions) {
        super(`test:index:${type}`, name, {}, opts);
    }
}

class Harness extends pulumi.ComponentResource {
    constructor(name: string, raw: RawConfig, opts?: pulumi.ComponentResourceOptions) {
        super("test:index:Harness", name, {}, opts);
        const config = configFor(raw);
        const ready = new Stub("Ready", `${name}-ready`, { parent: this });
        this.access = new Access(
            `${name}-access`,
            {
                config,
                host: pulumi.output(config.host),
                port: pulumi.output(config.hostPort),
                user: pulumi.output(config.user),
                password: pulumi.secret(config.password ?? "server-generated-pw"),
                ready: [ready],
            },
            { parent: this },
        );
        this.schema = new Stub("Schema", `${name}-schema`, { parent: this, dependsOn: [ready, ...this.access.beforeSchema] });
        new Grants(
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
        this.registerOutputs({});
    }
    access!: Access;
    schema!: Stub;
}

async function build(raw: RawConfig, name: string) {
    return runProgram((opts) => new Harness(name, raw, opts));
}

/** What the mock engine received for a registration: plain values, secrets still wrapped. */
function received(r: Registered): Record<string, unknown> {
    const inputs = mocked.inputs[`${r.type}::${r.name}`];
    if (!inputs) throw new Error(`the mocks never saw ${r.type} ${r.name}`);
    return inputs;
}

/** Provider settings other than strings reach the engine JSON-encoded (the SDK encodes them). */
async function settings(provider: Registered, ...keys: string[]): Promise<unknown> {
    const values = await Promise.all(keys.map(async (key) => JSON.parse(await resolve(provider.props[key] as string))));
    return keys.length === 1 ? values[0] : values;
}

function dependsOn(r: Registered): pulumi.Resource[] {
    const value = r.opts.dependsOn;
    return value === undefined ? [] : ((Array.isArray(value) ? value : [value]) as pulumi.Resource[]);
}

describe("the docker stack", () => {
    it("points the provider at the server's direct connection, as a superuser, once the server is ready", async () => {
        const run = await build({ password: "owner-secret-pw" }, "acc-docker");
        const provider = run.find(PROVIDER, "-access-provider");
        expect(await resolve(provider.props.host as string)).toBe("localhost");
        expect(await settings(provider, "port")).toBe(5432);
        expect(await resolve(provider.props.username as string)).toBe("postgres");
        expect(await resolve(provider.props.database as string)).toBe("ybryx");
        expect(await resolve(provider.props.password as string)).toBe("owner-secret-pw");
        expect(await isSecret(provider.props.password as string)).toBe(true);
        expect(provider.props.sslmode).toBe("disable");
        expect(await settings(provider, "superuser", "connectTimeout", "maxConnections")).toEqual([true, 15, 2]);
        expect(dependsOn(provider)).toContain(run.find("test:index:Ready").resource);
    });

    it("creates the app and admin roles with login, no superuser, no BYPASSRLS, through that provider", async () => {
        const run = await build({}, "acc-roles");
        const provider = run.find(PROVIDER, "-access-provider").resource;
        for (const [suffix, name] of [
            ["-app-role", "memory_app"],
            ["-admin-role", "memory_admin"],
        ]) {
            const role = run.find(ROLE, suffix);
            expect(role.props).toMatchObject({
                name,
                login: true,
                superuser: false,
                createDatabase: false,
                createRole: false,
                replication: false,
                bypassRowLevelSecurity: false,
            });
            expect(role.opts.provider).toBe(provider);
            expect(role.opts.additionalSecretOutputs).toContain("password");
        }
    });

    it("gives each role a generated password that is secret in the program and in what the engine receives", async () => {
        const run = await build({}, "acc-pw");
        expect(
            run
                .all(PASSWORD)
                .map((p) => p.name)
                .sort(),
        ).toEqual(["acc-pw-access-admin-password", "acc-pw-access-app-password"]);
        const role = run.find(ROLE, "-app-role");
        expect(await isSecret(role.props.password as string)).toBe(true);
        expect(isWrappedSecret(received(role).password)).toBe(true);
        expect(isWrappedSecret(received(run.find(PROVIDER, "-access-provider")).password)).toBe(true);
    });

    // The Role's password is the SQL text of CREATE/ALTER ROLE … PASSWORD '…'. As plaintext it lands in the
    // server's log whenever that statement fails (log_min_error_statement = error by default: a role that
    // exists already) or is logged (log_statement = ddl), and in pg_stat_statements (utility statements
    // verbatim). A SCRAM verifier there is what PostgreSQL stores anyway: it logs in with the same password.
    it("hands PostgreSQL each generated password as a SCRAM-SHA-256 verifier, never as plaintext, and the same one on every up", async () => {
        const plaintext = "generated-acc-verifier-access-app-password-0123456789abcdef";
        const verifierOf = async () => resolve((await build({}, "acc-verifier")).find(ROLE, "-app-role").props.password as string);
        const verifier = await verifierOf();
        expect(verifier).not.toContain(plaintext);
        expect(verifier).toMatch(/^SCRAM-SHA-256\$4096:[A-Za-z0-9+/]+=*\$[A-Za-z0-9+/]+=*:[A-Za-z0-9+/]+=*$/);
        const salt = Buffer.from(verifier.split("$")[1].split(":")[1], "base64");
        expect(salt).toHaveLength(16);
        expect(verifier).toBe(scramVerifier(plaintext, { salt }));
        expect(await verifierOf()).toBe(verifier);
        // What the application logs in with stays the plaintext.
        const { result } = await build({}, "acc-verifier");
        expect(await resolve(result.access.appConnectionString)).toContain(`:${plaintext}@`);
    });

    it("exports secret app and admin connection strings that log in as the roles", async () => {
        const { result } = await build({}, "acc-urls");
        const access = result.access;
        expect(await isSecret(access.appConnectionString)).toBe(true);
        expect(await isSecret(access.adminConnectionString)).toBe(true);
        expect(await resolve(access.appConnectionString)).toBe(
            "postgresql://memory_app:generated-acc-urls-access-app-password-0123456789abcdef@localhost:5432/ybryx",
        );
        expect(await resolve(access.adminConnectionString)).toMatch(/^postgresql:\/\/memory_admin:generated-.*@localhost:5432\/ybryx$/);
        expect(await Promise.all(access.logins.map((login) => resolve(login.name)))).toEqual(["memory_app", "memory_admin"]);
        for (const login of access.logins) expect(await isSecret(login.password)).toBe(true);
        expect(access.dotenvLines).toHaveLength(1);
        expect(await isSecret(access.dotenvLines[0])).toBe(true);
        expect(await resolve(access.dotenvLines[0])).toMatch(/^MEMORY_APP_DATABASE_URL=postgresql:\/\/memory_app:/);
    });

    it("declares no extension and no database: the schema owns the extensions, the container creates the database", async () => {
        const run = await build({}, "acc-ext");
        expect(run.all(EXTENSION)).toHaveLength(0);
        expect(run.all(DATABASE)).toHaveLength(0);
    });

    it("declares one grant per rule of privileges.ts, with the rule's objects and privileges, to the roles by name", async () => {
        const run = await build({}, "acc-grants");
        expect(
            run
                .all(GRANT)
                .map((g) => g.name)
                .sort(),
        ).toEqual(PRIVILEGE_RULES.map((rule) => `acc-grants-grants-${rule.key}`).sort());
        for (const rule of PRIVILEGE_RULES) {
            const grant = run.find(GRANT, `-grants-${rule.key}`);
            expect(await resolve(grant.props.role as string), rule.key).toBe(rule.grantee === "app" ? "memory_app" : "memory_admin");
            expect(await resolve(grant.props.database as string)).toBe("ybryx");
            expect(grant.props.objectType).toBe(rule.objectType);
            expect(grant.props.privileges).toEqual(rule.privileges);
            expect(grant.props.objects).toEqual(rule.objects.length ? rule.objects : undefined);
            expect(grant.props.columns).toEqual(rule.columns);
        }
    });

    it("orders destroy: the schema depends on both roles, every grant on the schema and on the provider", async () => {
        const run = await build({}, "acc-order");
        const roles = run.all(ROLE).map((r) => r.resource);
        const schema = run.find("test:index:Schema");
        expect(dependsOn(schema)).toEqual(expect.arrayContaining(roles));
        const provider = run.find(PROVIDER, "-access-provider").resource;
        for (const grant of run.all(GRANT)) {
            expect(dependsOn(grant), grant.name).toContain(schema.resource);
            expect(grant.opts.provider, grant.name).toBe(provider);
        }
    });
});

describe("the pgvector stack", () => {
    it("has the same roles and grants as the jsonb one (the function names do not change with the variant)", async () => {
        const run = await build({ vector: "true" }, "acc-vector");
        expect(run.all(ROLE)).toHaveLength(2);
        expect(run.all(GRANT)).toHaveLength(PRIVILEGE_RULES.length);
        expect(run.all(EXTENSION)).toHaveLength(0);
        expect(run.find(GRANT, "-app-functions").props.objects).toEqual([
            "get_active_session",
            "close_session",
            "match_goals",
            "match_beliefs",
        ]);
    });
});

describe("an external server with roles to create", () => {
    it("connects with the URL's settings over TLS, not as a superuser", async () => {
        const run = await build({ provisioner: "external", databaseUrl: managedUrl }, "acc-ext-managed");
        const provider = run.find(PROVIDER, "-access-provider");
        expect(await resolve(provider.props.host as string)).toBe("pg.example.com");
        expect(await resolve(provider.props.username as string)).toBe("owner");
        expect(await resolve(provider.props.database as string)).toBe("memory");
        expect(await isSecret(provider.props.password as string)).toBe(true);
        expect(provider.props.sslmode).toBe("require");
        expect(await settings(provider, "superuser")).toBe(false);
        expect(run.all(ROLE)).toHaveLength(2);
        expect(await resolve(run.result.access.appConnectionString)).toMatch(
            /^postgresql:\/\/memory_app:.*@pg\.example\.com:5432\/memory\?sslmode=require$/,
        );
    });

    it("creates the database from the maintenance database when createDatabase is on, and keeps it on destroy", async () => {
        const run = await build({ provisioner: "external", databaseUrl: managedUrl, createDatabase: "true" }, "acc-ext-db");
        const bootstrap = run.find(PROVIDER, "-access-bootstrap");
        expect(await resolve(bootstrap.props.database as string)).toBe("postgres");
        const database = run.find(DATABASE, "-access-database");
        expect(database.props.name).toBe("memory");
        expect(database.opts.provider).toBe(bootstrap.resource);
        expect(database.opts.retainOnDelete).toBe(true);
        // The main provider reads the created database's name, so it waits for it.
        const provider = run.find(PROVIDER, "-access-provider");
        expect(dependsOn(provider)).toContain(database.resource);
        expect(await resolve(provider.props.database as string)).toBe("memory");
    });

    it("makes the schema wait for the created database also where the roles exist already", async () => {
        const run = await build(
            { provisioner: "external", databaseUrl: managedUrl, createDatabase: "true", createRoles: "false" },
            "acc-ext-db-noroles",
        );
        const database = run.find(DATABASE).resource as pulumi.Resource;
        expect(run.result.access.beforeSchema.includes(database)).toBe(true);
        expect(dependsOn(run.find("test:index:Schema"))).toContain(run.find(DATABASE).resource);
    });
});

describe("an external server with existing roles (Supabase)", () => {
    const supabase: RawConfig = {
        provisioner: "external",
        databaseUrl: supabaseUrl,
        appRole: "authenticated",
        adminRole: "service_role",
        createRoles: "false",
    };

    it("creates for each role a login of its own that can only become it: LOGIN, NOINHERIT, a generated password", async () => {
        const run = await build(supabase, "acc-supa");
        expect(
            run
                .all(ROLE)
                .map((r) => r.props.name)
                .sort(),
        ).toEqual(["authenticated_login", "service_role_login"]);
        for (const role of run.all(ROLE)) {
            expect(role.props).toMatchObject({
                login: true,
                inherit: false,
                superuser: false,
                createRole: false,
                bypassRowLevelSecurity: false,
            });
            expect(await isSecret(role.props.password as string)).toBe(true);
        }
        expect(run.all(PASSWORD)).toHaveLength(2);
        expect(run.result.access.logins).toEqual([]);
    });

    it("makes each login a member of its role once the schema ran, and of nothing else", async () => {
        const run = await build(supabase, "acc-supa-members");
        const members = await Promise.all(
            run
                .all(GRANT_ROLE)
                .map(async (grant) => [await resolve(grant.props.role as string), grant.props.grantRole, grant.props.withAdminOption]),
        );
        expect(members.sort()).toEqual([
            ["authenticated_login", "authenticated", false],
            ["service_role_login", "service_role", false],
        ]);
        for (const grant of run.all(GRANT_ROLE)) {
            expect(dependsOn(grant)).toContain(run.find("test:index:Schema").resource);
        }
    });

    it("grants only on the memory objects, never on the database, schema public or users it does not own", async () => {
        const run = await build(supabase, "acc-supa-grants");
        const keys = run
            .all(GRANT)
            .map((g) => g.name.replace("acc-supa-grants-grants-", ""))
            .sort();
        expect(keys).toEqual(
            privilegeRules({ rolesCreated: false })
                .map((rule) => rule.key)
                .sort(),
        );
        expect(keys).not.toContain("app-schema");
        expect(keys).not.toContain("admin-users");
        for (const key of ["app-tables", "admin-tables"]) {
            const role = await resolve(run.find(GRANT, `-grants-${key}`).props.role as string);
            expect(role).toBe(key.startsWith("app") ? "authenticated" : "service_role");
        }
    });

    it("connects the application as its own login taking the role for the session, never with the owner's credentials", async () => {
        const { result } = await build(supabase, "acc-supa-urls");
        expect(await isSecret(result.access.appConnectionString)).toBe(true);
        const app = await resolve(result.access.appConnectionString);
        expect(app).toBe(
            "postgresql://authenticated_login:generated-acc-supa-urls-access-app-login-password-0123456789abcdef@db.example.supabase.co:5432/postgres" +
                "?sslmode=require&options=-c%20role%3Dauthenticated",
        );
        const admin = await resolve(result.access.adminConnectionString);
        expect(admin).toMatch(
            /^postgresql:\/\/service_role_login:generated-[^@]+@db\.example\.supabase\.co:5432\/postgres\?sslmode=require&options=-c%20role%3Dservice_role$/,
        );
        for (const url of [app, admin]) expect(url).not.toContain("supabase-secret");
    });

    it("trusts plain claims only from the logins plainClaimLogins names, by granting them the switch after the schema", async () => {
        const run = await build({ ...supabase, plainClaimLogins: '["authenticator"]' }, "acc-supa-trust");
        const grant = run.find(GRANT, "-grants-trust-plain-claims-authenticator");
        expect(grant.props).toMatchObject({
            objectType: "function",
            schema: "memory_stack",
            objects: ["trust_plain_claims"],
            privileges: ["EXECUTE"],
            withGrantOption: false,
        });
        expect(await resolve(grant.props.role as string)).toBe("authenticator");
        expect(dependsOn(grant)).toContain(run.find("test:index:Schema").resource);
        expect(run.all(GRANT).filter((g) => g.name.includes("trust-plain-claims"))).toHaveLength(1);
    });
});

describe("an external server where the stack creates the roles", () => {
    it("makes the owner a member of both roles, so verification can check row level security as them", async () => {
        const run = await build({ provisioner: "external", databaseUrl: managedUrl }, "acc-ext-members");
        const members = await Promise.all(
            run
                .all(GRANT_ROLE)
                .map(async (grant) => [await resolve(grant.props.role as string), await resolve(grant.props.grantRole as string)]),
        );
        expect(members.sort()).toEqual([
            ["owner", "memory_admin"],
            ["owner", "memory_app"],
        ]);
        expect(await resolve(run.result.access.appConnectionString)).toMatch(/^postgresql:\/\/memory_app:generated-/);
        // Verification comes after the schema, which waits for the memberships.
        for (const grant of run.all(GRANT_ROLE)) {
            expect(dependsOn(run.find("test:index:Schema"))).toContain(grant.resource);
        }
    });

    it("declares no membership on the docker server, whose owner is a superuser", async () => {
        expect((await build({}, "acc-docker-members")).all(GRANT_ROLE)).toHaveLength(0);
    });
});

describe("the stack component", () => {
    it("builds Access after the healthy container and exports its secret connection strings and dotenv line", async () => {
        const { MemoryStack } = await import("../../components/memory-stack");
        const run = await runProgram((opts) => new MemoryStack("acc-stack", { config: configFor({}) }, opts));
        const provider = run.find(PROVIDER, "acc-stack-access-provider");
        expect(dependsOn(provider)).toContain(run.find("docker:index/container:Container", "-postgres").resource);
        expect(await isSecret(run.result.appConnectionString)).toBe(true);
        expect(await isSecret(run.result.adminConnectionString)).toBe(true);
        const dotenv = await resolve(run.result.dotenv);
        expect(dotenv).toMatch(/^DATABASE_URL=postgresql:\/\/postgres:/m);
        expect(dotenv).toMatch(
            /^MEMORY_APP_DATABASE_URL=postgresql:\/\/memory_app:generated-acc-stack-access-app-password-0123456789abcdef@localhost:5432\/ybryx$/m,
        );
    });
});
