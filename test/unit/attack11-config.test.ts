// Config values that parseConfig accepted until a fresh-eyes attack on the README's Configuration table
// tried them, and that fail only once `pulumi up` has created resources. The README promises that
// "`pulumi preview` fails before any resource exists with the key, the value and what is allowed".
import { describe, expect, it } from "vitest";
import { parseConfig } from "../../engine/config/config";
import { configErrorFor } from "../support/config-errors";

const external = { provisioner: "external", databaseUrl: "postgresql://postgres:secret-pw@db.example.com:5432/memory" };
const supabase = { ...external, appRole: "authenticated", adminRole: "service_role", createRoles: "false" };

describe("role names PostgreSQL reserves besides public and pg_*", () => {
    // `create role none` fails ("role name "none" is reserved"), and the preflight refuses current_user,
    // current_role and session_user: accepted here, each failed `pulumi up` after the container, the
    // network and (for the current_user family) the roles already existed.
    it.each([
        ["appRole", "none"],
        ["adminRole", "none"],
        ["appRole", "current_user"],
        ["adminRole", "session_user"],
        ["appRole", "current_role"],
    ])("refuses %s %s", (key, name) => {
        const error = configErrorFor({ [key]: name });
        expect(error.key).toBe(key);
        expect(error.message).toMatch(/is a name PostgreSQL reserves/);
    });
});

describe("the owner user of the docker server", () => {
    // The image runs `initdb --username=$POSTGRES_USER`, which refuses pg_* ("superuser name is disallowed"),
    // public and none: the container never turns healthy and `pulumi up` waits out its healthcheck with
    // the network, the volume and the container created.
    it.each(["pg_owner", "public", "none"])("refuses user %s", (user) => {
        const error = configErrorFor({ user });
        expect(error.key).toBe("user");
        expect(error.message).toMatch(/is a name PostgreSQL reserves/);
    });
});

describe("the database the memory schema goes into", () => {
    // template1 is what every CREATE DATABASE copies: the memory tables, their policies and their rows (a
    // tenant's memories) would land in every database created on the server afterwards. template0 takes no
    // connections at all.
    it.each(["template0", "template1"])("refuses the template database %s", (database) => {
        const error = configErrorFor({ database });
        expect(error.key).toBe("database");
        expect(error.message).toMatch(/template/);
    });

    it("refuses an external URL naming template1, without showing the URL", () => {
        const error = configErrorFor({ ...external, databaseUrl: "postgresql://postgres:secret-pw@db.example.com:5432/template1" });
        expect(error.key).toBe("databaseUrl");
        expect(error.message).toMatch(/template1/);
        expect(error.message).not.toContain("secret-pw");
    });

    // PgBouncer refuses to start on a [databases] entry named pgbouncer ("database name "pgbouncer" is
    // reserved", its admin console): the pooler container never turns healthy, after the server and the roles exist.
    it("refuses pgbouncer with the pooler on, and takes it with the pooler off", () => {
        const error = configErrorFor({ database: "pgbouncer" });
        expect(error.key).toBe("database");
        expect(error.message).toMatch(/PgBouncer/);
        expect(parseConfig({ database: "pgbouncer", pooling: '{"enabled": false}' }).database).toBe("pgbouncer");
    });
});

describe("createRoles false: every login the stack creates has a name of its own", () => {
    // With createRoles false the stack creates `<role>_login` for each role. adminRole app_login made the app
    // role's login the admin role itself: the app connection string would log in as the role that sees every
    // row, and a `reset role` in the application's session would show it every tenant's memories.
    it("refuses an adminRole that is the app role's login", () => {
        const error = configErrorFor({ ...external, createRoles: "false", appRole: "app", adminRole: "app_login" });
        expect(error.key).toBe("adminRole");
        expect(error.message).toContain("app_login");
    });

    it("refuses an appRole that is the admin role's login", () => {
        const error = configErrorFor({ ...external, createRoles: "false", appRole: "adm_login", adminRole: "adm" });
        expect(error.key).toBe("appRole");
        expect(error.message).toContain("adm_login");
    });

    // The owner's own name as a login the stack creates: CREATE ROLE fails, or, where it is the URL's user, the
    // app connection string would be the owner's, which bypasses row level security.
    it("refuses a role whose login would be the owner the URL logs in as", () => {
        const error = configErrorFor({
            ...supabase,
            databaseUrl: "postgresql://authenticated_login:secret-pw@db.example.com:5432/memory",
        });
        expect(error.key).toBe("appRole");
        expect(error.message).toContain("authenticated_login");
        expect(error.message).not.toContain("secret-pw");
    });

    it("still takes Supabase's roles", () => {
        expect(parseConfig(supabase).appRole).toBe("authenticated");
    });
});

describe("pooling.image is pinned by a version tag", () => {
    // README: "pinned by a version tag or digest (no latest)". stable, alpine and edge move under the stack
    // as latest does, and the version the rendered pgbouncer.ini depends on cannot be read from them.
    it.each(["edoburu/pgbouncer:stable", "edoburu/pgbouncer:alpine", "bitnami/pgbouncer:edge"])("refuses %s", (image) => {
        const error = configErrorFor({ pooling: JSON.stringify({ image }) });
        expect(error.key).toBe("pooling.image");
        expect(error.message).toContain("must be pinned to a version tag or a digest");
    });
});

describe("a field of pooling, client or migration set without --path", () => {
    // README: "one field at a time: pulumi config set --path memory-stack:pooling.hostPort 6434". Without --path
    // Pulumi stores a key named pooling.hostPort, and the error called the very name the README's table lists an
    // "unknown key", listing pooling among the known ones: it did not say that --path was what was missing.
    it.each([
        ["pooling.hostPort", "6434"],
        ["client.poolSize", "3"],
        ["migration.lockTimeoutMs", "1000"],
    ])("names --path for %s", (key, value) => {
        const error = configErrorFor({ [key]: value });
        expect(error.key).toBe(key);
        expect(error.message).toContain(`pulumi config set --path memory-stack:${key}`);
    });

    it("still hides the value, and calls a misspelt key unknown", () => {
        expect(configErrorFor({ "pooling.hostPort": "6434" }).message).not.toContain("6434");
        expect(configErrorFor({ "poolng.hostPort": "6434" }).message).toContain("unknown key");
    });
});

describe("sslMode on the docker server", () => {
    // The stack starts postgres:15-alpine or pgvector/pgvector:pg15 with no certificate and ssl off. sslMode
    // require (or verify-*) was accepted: the container came up, then every connection of the stack (the
    // postgresql provider, the schema, the verification) failed with "The server does not support SSL
    // connections", and the exported URLs carried an sslmode that no client could meet.
    it.each(["require", "verify-ca", "verify-full"])("refuses %s", (sslMode) => {
        const error = configErrorFor({ sslMode });
        expect(error.key).toBe("sslMode");
        expect(error.message).toMatch(/no TLS/);
    });

    it("takes disable, the default", () => {
        expect(parseConfig({ sslMode: "disable" }).sslMode).toBe("disable");
    });
});

describe("pooling.mode statement with row level security", () => {
    // README: "A transaction binds its user with memory_stack.bind_user, which counts for that transaction
    // only, directly and behind any pooler". In statement mode PgBouncer refuses the transaction itself: the
    // README's `begin; select memory_stack.bind_user(…); select * from sessions; commit;` through the stack's
    // rendered statement-mode pgbouncer.ini ends in "FATAL: transaction blocks not allowed in statement pooling
    // mode" and a closed connection (Debian's PgBouncer 1.18). A lone bind_user is gone by the next statement,
    // so every query through MEMORY_APP_POOLED_DATABASE_URL sees no row and every insert is refused.
    it("is refused, naming what to use instead", () => {
        const error = configErrorFor({ pooling: '{"mode": "statement"}' });
        expect(error.key).toBe("pooling.mode");
        expect(error.message).toMatch(/transaction/);
    });

    it("is taken without row level security", () => {
        expect(parseConfig({ pooling: '{"mode": "statement"}', rls: "false" }).pooling.mode).toBe("statement");
    });
});
