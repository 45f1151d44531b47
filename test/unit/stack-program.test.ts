import { beforeAll, describe, expect, it } from "vitest";
import { installMocks, isSecret, resolve, runStack } from "../support/program";

const CONTAINER = "docker:index/container:Container";
const VOLUME = "docker:index/volume:Volume";
const IMAGE = "docker:index/remoteImage:RemoteImage";
const NETWORK = "docker:index/network:Network";
const PASSWORD = "random:index/randomPassword:RandomPassword";

beforeAll(() => {
    installMocks("dev");
});

describe("the dev stack (docker, postgres:15-alpine)", () => {
    it("runs postgres:15-alpine with the database, user and generated password in its environment", async () => {
        const run = await runStack({});
        expect(run.find(IMAGE, "-server-image").props.name).toBe("postgres:15-alpine");
        const container = run.find(CONTAINER, "-postgres");
        const envs = await resolve(container.props.envs as string[]);
        expect(envs).toContain("POSTGRES_DB=ybryx");
        expect(envs).toContain("POSTGRES_USER=postgres");
        expect(envs).toContain("POSTGRES_PASSWORD=generated-memory-stack-dev-server-password-0123456789abcdef");
        expect(await isSecret(container.props.envs as string[])).toBe(true);
        expect(container.opts.additionalSecretOutputs).toContain("envs");
    });

    it("passes max_connections on the command line, checks health with the start script and waits for it", async () => {
        const container = (await runStack({ maxConnections: "40" })).find(CONTAINER, "-postgres");
        expect(container.props.command).toEqual(expect.arrayContaining(["postgres", "-c", "max_connections=40"]));
        const healthcheck = container.props.healthcheck as { tests: string[] };
        expect(healthcheck.tests).toEqual(["CMD", "/usr/local/bin/memory-stack-postgres", "healthcheck"]);
        expect(container.props.wait).toBe(true);
        expect(container.props.ports).toEqual([{ internal: 5432, external: 5432, ip: "127.0.0.1" }]);
    });

    it("keeps the data volume on destroy unless retainVolumeOnDestroy is false", async () => {
        expect((await runStack({})).find(VOLUME).opts.retainOnDelete).toBe(true);
        expect((await runStack({ retainVolumeOnDestroy: "false" }, "memory-stack-nokeep")).find(VOLUME).opts.retainOnDelete).toBe(false);
    });

    it("mounts the volume at PostgreSQL's data directory and joins the stack's network", async () => {
        const run = await runStack({});
        const container = run.find(CONTAINER, "-postgres");
        const volumes = await resolve(container.props.volumes as { volumeName: string; containerPath: string }[]);
        expect(volumes).toEqual([{ volumeName: "memory-stack-dev-server-data", containerPath: "/var/lib/postgresql/data" }]);
        const networks = await resolve(container.props.networksAdvanced as { name: string }[]);
        expect(networks[0].name).toBe("memory-stack-dev-server-network");
        expect(run.find(NETWORK).opts.parent).toBeDefined();
    });

    it("uses a configured password instead of generating one, still as a secret", async () => {
        const run = await runStack({ password: "configured-secret-pw" }, "memory-stack-pw");
        expect(run.all(PASSWORD).filter((p) => p.name.endsWith("-server-password"))).toHaveLength(0);
        expect(await isSecret(run.result.connectionString)).toBe(true);
        expect(await resolve(run.result.connectionString)).toContain("configured-secret-pw");
    });

    it("parents every child under the stack component and names it from the stack's name", async () => {
        const run = await runStack({});
        const children = run.registered.filter((r) => r.resource !== run.result);
        expect(children.length).toBeGreaterThan(4);
        for (const child of children) {
            expect(child.opts.parent, child.name).toBeDefined();
            expect(child.name.startsWith("memory-stack-dev-"), child.name).toBe(true);
        }
    });

    it("exports host, port, database and secret connectionString and dotenv", async () => {
        const { result } = await runStack({});
        expect(await resolve(result.host)).toBe("localhost");
        expect(await resolve(result.port)).toBe(5432);
        expect(await resolve(result.database)).toBe("ybryx");
        expect(await isSecret(result.connectionString)).toBe(true);
        expect(await isSecret(result.dotenv)).toBe(true);
        expect(await resolve(result.connectionString)).toBe(
            "postgresql://postgres:generated-memory-stack-dev-server-password-0123456789abcdef@localhost:5432/ybryx",
        );
        expect(await resolve(result.dotenv)).toMatch(/^DATABASE_URL=postgresql:\/\/postgres:.*@localhost:5432\/ybryx$/m);
    });
});

describe("the dotenv output", () => {
    it("gives the owner's URL direct only, and the app role's direct and through PgBouncer", async () => {
        const dotenv = await resolve((await runStack({}, "memory-stack-env")).result.dotenv);
        const keys = dotenv
            .trim()
            .split("\n")
            .map((line) => line.split("=")[0]);
        expect(keys).toEqual(["DATABASE_URL", "MEMORY_APP_DATABASE_URL", "MEMORY_APP_POOLED_DATABASE_URL"]);
        expect(dotenv).toMatch(/^MEMORY_APP_POOLED_DATABASE_URL=postgresql:\/\/memory_app:[^@]+@localhost:6432\/ybryx$/m);
    });

    it("has no pooled URLs without a pooler", async () => {
        const dotenv = await resolve((await runStack({ pooling: '{"enabled": false}' }, "memory-stack-nopool")).result.dotenv);
        expect(dotenv).not.toContain("POOLED");
    });
});

describe("the pgvector stack", () => {
    it("runs pgvector/pgvector:pg15 when vector is on and no image is given", async () => {
        const run = await runStack({ vector: "true" }, "memory-stack-vector");
        expect(run.find(IMAGE, "-server-image").props.name).toBe("pgvector/pgvector:pg15");
    });
});

describe("the external stack", () => {
    const url = "postgresql://postgres:supabase-secret@db.example.supabase.co:6543/postgres";

    it("creates no container, volume, image or network", async () => {
        const run = await runStack({ provisioner: "external", databaseUrl: url }, "memory-stack-external");
        for (const type of [CONTAINER, VOLUME, IMAGE, NETWORK]) {
            expect(run.all(type), type).toHaveLength(0);
        }
        // The owner's password comes from the URL; only the roles' passwords are generated.
        expect(run.all(PASSWORD).filter((p) => p.name.endsWith("-server-password"))).toHaveLength(0);
    });

    it("connects with the URL's host, port and database over sslmode=require, as a secret", async () => {
        const { result } = await runStack({ provisioner: "external", databaseUrl: url }, "memory-stack-external2");
        expect(await resolve(result.host)).toBe("db.example.supabase.co");
        expect(await resolve(result.port)).toBe(6543);
        expect(await isSecret(result.connectionString)).toBe(true);
        expect(await resolve(result.connectionString)).toBe(`${url}?sslmode=require`);
    });
});
