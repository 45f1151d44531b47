import * as pulumi from "@pulumi/pulumi";
import { beforeAll, describe, expect, it } from "vitest";
import type { RawConfig } from "../../engine/config/config";
import { pgbouncerSettings, renderPgBouncerIni } from "../../engine/render/pgbouncer";
import type { PoolerArgs } from "../../components/pooler";
import { configFor, installMocks, isSecret, resolve, runProgram, type MockedState, runStack } from "../support/program";
import { isWrappedSecret } from "../support/secrets";

const CONTAINER = "docker:index/container:Container";
const IMAGE = "docker:index/remoteImage:RemoteImage";
const APP_PASSWORD = "app-secret-password-4567";

interface Upload {
    file: string;
    content: string;
    permissions?: string;
}

let state: MockedState;
beforeAll(() => {
    state = installMocks("dev");
});

async function poolerFor(raw: RawConfig = {}, extra: Partial<PoolerArgs> = {}, name = "memory-stack-dev-pooler") {
    const { Pooler } = await import("../../components/pooler");
    const config = configFor(raw);
    return runProgram(
        (opts) =>
            new Pooler(
                name,
                {
                    pooling: config.pooling,
                    networkName: "memory-stack-dev-server-network",
                    serverHost: pulumi.output("memory-stack-dev-server-postgres"),
                    database: config.database,
                    bindAddress: config.bindAddress,
                    users: [{ name: "memory_app", password: pulumi.secret(APP_PASSWORD) }],
                    ...extra,
                },
                opts,
            ),
    );
}

async function uploadsOf(run: Awaited<ReturnType<typeof poolerFor>>): Promise<Record<string, Upload>> {
    const uploads = await resolve(run.find(CONTAINER).props.uploads as Upload[]);
    return Object.fromEntries(uploads.map((u) => [u.file, u]));
}

/** Whether `needle` appears in `value` anywhere but inside a secret. */
function inPlaintext(value: unknown, needle: string): boolean {
    if (typeof value === "string") {
        return value.includes(needle);
    }
    if (Array.isArray(value)) {
        return value.some((item) => inPlaintext(item, needle));
    }
    if (value && typeof value === "object") {
        if (isWrappedSecret(value)) {
            return false;
        }
        return Object.values(value).some((item) => inPlaintext(item, needle));
    }
    return false;
}

describe("the pooler container", () => {
    it("runs the pinned PgBouncer image from config and keeps it locally", async () => {
        const run = await poolerFor();
        expect(run.find(IMAGE).props).toMatchObject({ name: "edoburu/pgbouncer:v1.26.0-p0", keepLocally: true });
        expect(await resolve(run.find(CONTAINER).props.image as string)).toBe("sha256:memory-stack-dev-pooler-image");
    });

    it("runs pgbouncer directly on the uploaded config, restarts unless stopped, and is waited for", async () => {
        const container = (await poolerFor()).find(CONTAINER, "-pgbouncer");
        expect(container.name).toBe("memory-stack-dev-pooler-pgbouncer");
        expect(container.props).toMatchObject({
            name: "memory-stack-dev-pooler-pgbouncer",
            entrypoints: ["pgbouncer"],
            command: ["/etc/pgbouncer/pgbouncer.ini"],
            restart: "unless-stopped",
            wait: true,
        });
        expect(container.props.envs).toBeUndefined();
    });

    it("publishes PgBouncer's 6432 on pooling.hostPort", async () => {
        expect((await poolerFor()).find(CONTAINER).props.ports).toEqual([{ internal: 6432, external: 6432, ip: "127.0.0.1" }]);
        const custom = await poolerFor({ pooling: JSON.stringify({ hostPort: 16432 }) }, {}, "memory-stack-port-pooler");
        expect(custom.find(CONTAINER).props.ports).toEqual([{ internal: 6432, external: 16432, ip: "127.0.0.1" }]);
        expect(await resolve(custom.result.port)).toBe(16432);
    });

    it("joins the server's network, where it reaches PostgreSQL by container name", async () => {
        const run = await poolerFor();
        expect(await resolve(run.find(CONTAINER).props.networksAdvanced as { name: string }[])).toEqual([
            { name: "memory-stack-dev-server-network", aliases: ["pgbouncer"] },
        ]);
        expect(await resolve(run.result.configFile)).toContain("ybryx = host=memory-stack-dev-server-postgres port=5432 dbname=ybryx");
    });

    it("is healthy once PgBouncer listens on 6432, checked without client tools", async () => {
        const healthcheck = (await poolerFor()).find(CONTAINER).props.healthcheck as { tests: string[]; retries: number };
        expect(healthcheck.tests[0]).toBe("CMD-SHELL");
        expect(healthcheck.tests[1]).toContain(":1920 [0-9A-F]{8}:0000 0A' /proc/net/tcp");
        expect(healthcheck.retries).toBeGreaterThan(0);
    });
});

describe("the uploaded files", () => {
    it("uploads pgbouncer.ini exactly as rendered for the image's PgBouncer version", async () => {
        const config = configFor({});
        const expected = renderPgBouncerIni(
            pgbouncerSettings(config, {
                serverHost: "memory-stack-dev-server-postgres",
                version: "1.26.0",
            }),
        );
        const uploads = await uploadsOf(await poolerFor());
        expect(uploads["/etc/pgbouncer/pgbouncer.ini"]).toEqual({
            file: "/etc/pgbouncer/pgbouncer.ini",
            content: expected,
            permissions: "0644",
        });
        expect(expected).toContain("max_prepared_statements = 200");
    });

    it("leaves out settings an older PgBouncer does not know when told its version", async () => {
        const run = await poolerFor({}, { pgbouncerVersion: "1.18.0" }, "memory-stack-old-pooler");
        expect(await resolve(run.result.configFile)).not.toContain("max_prepared_statements");
    });

    it("writes exactly the users given, never the owner, to the auth file; a verifier replaces a password", async () => {
        const verifier = "SCRAM-SHA-256$4096:AAAAAAAAAAAAAAAAAAAAAA==$c3RvcmVk:c2VydmVy";
        const run = await poolerFor(
            {},
            {
                users: [
                    { name: "memory_app", password: pulumi.secret(APP_PASSWORD) },
                    { name: "memory_admin", scramVerifier: pulumi.secret(verifier), console: "stats" },
                ],
            },
            "memory-stack-users-pooler",
        );
        const auth = (await uploadsOf(run))["/etc/pgbouncer/userlist.txt"];
        expect(auth.content).toBe(`"memory_app" "${APP_PASSWORD}"\n"memory_admin" "${verifier}"\n`);
        const ini = await resolve(run.result.configFile);
        expect(ini).not.toContain("admin_users");
        expect(ini).toContain("stats_users = memory_admin\n");
    });

    it("refuses to start without the app role and its password first", async () => {
        await expect(poolerFor({}, { users: [] }, "memory-stack-empty-pooler")).rejects.toThrow(/needs the app role, with its password/);
    });
});

describe("secrets", () => {
    it("keeps the auth file secret in the program and in the state the engine saw, even from plain passwords", async () => {
        const run = await poolerFor({}, { users: [{ name: "memory_app", password: APP_PASSWORD }] }, "memory-stack-secret-pooler");
        const container = run.find(CONTAINER);
        expect(await isSecret(container.props.uploads as Upload[])).toBe(true);
        expect(container.opts.additionalSecretOutputs).toContain("uploads");
        const seen = state.inputs[`${CONTAINER}::memory-stack-secret-pooler-pgbouncer`];
        expect(JSON.stringify(seen)).toContain(APP_PASSWORD);
        expect(inPlaintext(seen, APP_PASSWORD)).toBe(false);
    });

    it("puts no password in the rendered pgbouncer.ini", async () => {
        const run = await poolerFor();
        const ini = await resolve(run.result.configFile);
        expect(ini).not.toContain(APP_PASSWORD);
    });

    it("outputs the app role's pooled connection string as a secret, even from a plain password", async () => {
        const { result } = await poolerFor({}, { users: [{ name: "memory_app", password: APP_PASSWORD }] }, "memory-stack-url-pooler");
        expect(await isSecret(result.connectionString)).toBe(true);
        expect(await resolve(result.connectionString)).toBe(`postgresql://memory_app:${APP_PASSWORD}@localhost:6432/ybryx`);
    });
});

describe("the component", () => {
    it("parents its children and names them after itself", async () => {
        const run = await poolerFor();
        const children = run.registered.filter((r) => r.resource !== run.result);
        expect(children.map((c) => c.type).sort()).toEqual([CONTAINER, IMAGE]);
        for (const child of children) {
            expect(child.opts.parent).toBe(run.result);
            expect(child.name.startsWith("memory-stack-dev-pooler-"), child.name).toBe(true);
        }
    });

    it("outputs host, port and container name", async () => {
        const { result } = await poolerFor();
        expect(await resolve(result.host)).toBe("localhost");
        expect(await resolve(result.port)).toBe(6432);
        expect(await resolve(result.containerName)).toBe("memory-stack-dev-pooler-pgbouncer");
    });
});

describe("client pool settings", () => {
    it("match the seed's 5/10 by default and name the pool mode behind the pooled URL", async () => {
        const { clientPoolSettings } = await import("../../components/pooler");
        expect(clientPoolSettings(configFor({}))).toEqual({
            poolSize: 5,
            maxOverflow: 10,
            poolTimeoutSeconds: 30,
            poolRecycleSeconds: 1800,
            prePing: true,
            poolMode: "transaction",
        });
        expect(clientPoolSettings(configFor({ pooling: '{"enabled": false}' })).poolMode).toBe("direct");
    });
});

describe("in the stack", () => {
    it("puts a pooler beside the docker server, after it is healthy and the roles have their verifiers, with only the app role on a PgBouncer older than 1.26.1", async () => {
        const run = await runStack({}, "memory-stack-wired");
        const pooler = run.find("memory-stack:index:Pooler");
        expect(pooler.name).toBe("memory-stack-wired-pooler");
        expect(pooler.opts.dependsOn).toEqual([
            run.find(CONTAINER, "-server-postgres").resource,
            run.find("postgresql:index/role:Role", "-access-app-role").resource,
            run.find("postgresql:index/role:Role", "-access-admin-role").resource,
        ]);
        const auth = (await resolve(run.find(CONTAINER, "-pooler-pgbouncer").props.uploads as Upload[]))[1].content;
        // 1.26.0 lets a client that knows one auth-file password log in as another user (CVE-2026-107350): there is no other.
        expect(auth.split("\n").map((line) => line.split(" ")[0])).toEqual(['"memory_app"', ""]);
        expect(await resolve(run.find(CONTAINER, "-pooler-pgbouncer").props.networksAdvanced as { name: string }[])).toEqual([
            { name: "memory-stack-wired-server-network", aliases: ["pgbouncer"] },
        ]);
    });

    it("serves the admin role too, with read-only console access, on a PgBouncer with the 1.26.1 fix, and never the owner", async () => {
        const run = await runStack({ pooling: JSON.stringify({ image: "edoburu/pgbouncer:v1.26.1-p0" }) }, "memory-stack-fixed");
        const container = run.find(CONTAINER, "-pooler-pgbouncer");
        const [ini, auth] = (await resolve(container.props.uploads as Upload[])).map((upload) => upload.content);
        expect(auth.split("\n").map((line) => line.split(" ")[0])).toEqual(['"memory_app"', '"memory_admin"', ""]);
        expect(ini).toContain("stats_users = memory_admin\n");
        expect(ini).not.toContain("admin_users");
        expect(auth).not.toContain("postgres");
    });

    // The stack salts the roles' verifiers itself (components/access.ts), so the auth file can hold the very
    // verifier PostgreSQL stores: PgBouncer logs in to PostgreSQL with it, and the container's files hold no password.
    it("writes each role's SCRAM verifier to the auth file, the one PostgreSQL stores, and no password", async () => {
        const run = await runStack({ pooling: JSON.stringify({ image: "edoburu/pgbouncer:v1.26.1-p0" }) }, "memory-stack-verifiers");
        const auth = (await resolve(run.find(CONTAINER, "-pooler-pgbouncer").props.uploads as Upload[]))[1].content;
        for (const role of ["app", "admin"]) {
            const stored = await resolve(run.find("postgresql:index/role:Role", `-access-${role}-role`).props.password as string);
            expect(stored).toMatch(/^SCRAM-SHA-256\$4096:/);
            expect(auth).toContain(`"memory_${role}" "${stored}"\n`);
            expect(auth).not.toContain(`generated-memory-stack-verifiers-access-${role}-password`);
        }
        expect(await resolve(run.result.pooledConnectionString!)).toContain(":generated-memory-stack-verifiers-access-app-password-");
    });

    it("outputs pooledPort, a secret pooledConnectionString and the client pool settings", async () => {
        const { result } = await runStack({}, "memory-stack-outputs");
        expect(await resolve(result.pooledPort!)).toBe(6432);
        expect(await isSecret(result.pooledConnectionString!)).toBe(true);
        expect(await resolve(result.pooledConnectionString!)).toMatch(/^postgresql:\/\/memory_app:.+@localhost:6432\/ybryx$/);
        expect(result.clientPoolSettings).toMatchObject({ poolSize: 5, maxOverflow: 10, poolMode: "transaction" });
    });

    it("has no pooler when pooling is off", async () => {
        const run = await runStack({ pooling: '{"enabled": false}' }, "memory-stack-nopool");
        expect(run.all("memory-stack:index:Pooler")).toHaveLength(0);
        expect(run.result.pooledPort).toBeUndefined();
        expect(run.result.clientPoolSettings.poolMode).toBe("direct");
    });
});
