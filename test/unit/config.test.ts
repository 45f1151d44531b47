import { describe, expect, it } from "vitest";
import { connectionBudget, parseConfig, type RawConfig } from "../../engine/config/config";
import { configErrorFor } from "../support/config-errors";

describe("the defaults", () => {
    const config = parseConfig({});

    it("serve the dev stack: docker, postgres:15-alpine, ybryx as postgres on 5432, a generated password", () => {
        expect(config).toMatchObject({
            provisioner: "docker",
            image: "postgres:15-alpine",
            database: "ybryx",
            user: "postgres",
            password: undefined,
            hostPort: 5432,
            host: "localhost",
            sslMode: "disable",
        });
    });

    it("follow the seed: max_connections 20, PgBouncer pool 5, client pool 5 with overflow 10", () => {
        expect(config.maxConnections).toBe(20);
        expect(config.pooling).toMatchObject({
            enabled: true,
            mode: "transaction",
            defaultPoolSize: 5,
            maxClientConn: 250,
            hostPort: 6432,
        });
        expect(config.client).toMatchObject({ poolSize: 5, maxOverflow: 10, prePing: true });
    });

    it("turn on RLS with the memory_app and memory_admin roles, keep data and the volume", () => {
        expect(config).toMatchObject({
            rls: true,
            appRole: "memory_app",
            adminRole: "memory_admin",
            createRoles: true,
            allowDataLoss: false,
            retainVolumeOnDestroy: true,
            protect: false,
        });
    });

    it("fit in max_connections", () => {
        const budget = connectionBudget(config);
        expect(budget.needed).toBeLessThanOrEqual(budget.available);
    });
});

describe("vector search", () => {
    it("picks the pgvector image when vector is on and no image is given", () => {
        expect(parseConfig({ vector: "true" })).toMatchObject({
            image: "pgvector/pgvector:pg15",
            vector: true,
            vectorDimensions: 1536,
            vectorIndex: "hnsw",
        });
    });

    it("refuses an image without pgvector when vector is on", () => {
        const error = configErrorFor({ vector: "true", image: "postgres:15-alpine" });
        expect(error.key).toBe("image");
        expect(error.message).toMatch(/has no pgvector.*pgvector\/pgvector:pg15/);
    });

    it.each([["0"], ["16001"], ["1.5"], ["many"]])("refuses vectorDimensions %s", (value) => {
        expect(configErrorFor({ vectorDimensions: value }).key).toBe("vectorDimensions");
    });

    it("accepts 3072 dimensions with vector on (indexed as halfvec) and refuses more than pgvector's ANN indexes accept", () => {
        expect(parseConfig({ vector: "true", vectorDimensions: "3072" }).vectorDimensions).toBe(3072);
        expect(configErrorFor({ vector: "true", vectorDimensions: "4001" }).message).toMatch(
            /at most 4000 dimensions \(as halfvec above 2000\)/,
        );
    });

    it("takes the stack's ef_search or probes for the index that uses it, and refuses them anywhere else", () => {
        const hnsw = parseConfig({ vector: "true", vectorEfSearch: "100" });
        expect([hnsw.vectorEfSearch, hnsw.vectorProbes]).toEqual([100, undefined]);
        expect(parseConfig({ vector: "true", vectorIndex: "ivfflat", vectorProbes: "10" })).toMatchObject({ vectorProbes: 10 });
        const none = parseConfig({});
        expect([none.vectorEfSearch, none.vectorProbes]).toEqual([undefined, undefined]);
        expect(configErrorFor({ vectorEfSearch: "100" }).message).toBe(
            "memory-stack:vectorEfSearch is 100; tunes pgvector's hnsw index; set it only with vector: true and vectorIndex: hnsw.",
        );
        expect(configErrorFor({ vector: "true", vectorProbes: "10" }).key).toBe("vectorProbes");
        expect(configErrorFor({ vector: "true", vectorEfSearch: "1001" }).message).toMatch(
            /vectorEfSearch is 1001; must be an integer from 1 to 1000/,
        );
        expect(configErrorFor({ vector: "true", vectorIndex: "ivfflat", vectorProbes: "0" }).key).toBe("vectorProbes");
    });

    it("accepts ivfflat and refuses other index kinds", () => {
        expect(parseConfig({ vectorIndex: "ivfflat" }).vectorIndex).toBe("ivfflat");
        expect(configErrorFor({ vectorIndex: "flat" }).message).toBe('memory-stack:vectorIndex is "flat"; must be one of hnsw, ivfflat.');
    });
});

describe("each bad value gets an error naming the key, the value and what is allowed", () => {
    it.each<[RawConfig, string, RegExp]>([
        [{ provisioner: "kubernetes" }, "provisioner", /must be one of docker, external/],
        [{ image: "postgres:16-alpine" }, "image", /PostgreSQL 15/],
        [{ image: "postgres:latest" }, "image", /PostgreSQL 15/],
        [{ image: "postgres" }, "image", /PostgreSQL 15/],
        [{ database: "My-DB" }, "database", /lowercase SQL identifier/],
        [{ user: "1user" }, "user", /lowercase SQL identifier/],
        [{ appRole: "app role" }, "appRole", /lowercase SQL identifier/],
        [{ password: "short" }, "password", /at least 8 characters/],
        [{ hostPort: "0" }, "hostPort", /integer from 1 to 65535/],
        [{ hostPort: "70000" }, "hostPort", /integer from 1 to 65535/],
        [{ hostPort: "5432a" }, "hostPort", /integer from 1 to 65535/],
        [{ vector: "yes" }, "vector", /true or false/],
        [{ rls: "1" }, "rls", /true or false/],
        [{ maxConnections: "0" }, "maxConnections", /integer/],
        [{ pooling: '{"mode": "pipeline"}' }, "pooling.mode", /session, transaction, statement/],
        [{ pooling: '{"defaultPoolSize": 0}' }, "pooling.defaultPoolSize", /integer from 1/],
        [{ pooling: '{"hostPort": 5432}' }, "pooling.hostPort", /must differ from hostPort/],
        [{ pooling: '{"size": 5}' }, "pooling.size", /unknown key; known keys: enabled, mode/],
        [{ pooling: "[1]" }, "pooling", /must be an object/],
        [{ client: '{"poolSize": -1}' }, "client.poolSize", /integer from 1/],
        [{ sslMode: "always" }, "sslMode", /must be one of disable/],
        [{ portt: "5432" }, "portt", /unknown key; known keys: provisioner/],
        [{ appRole: "same", adminRole: "same" }, "adminRole", /must differ from appRole/],
        [{ appRole: "postgres" }, "appRole", /owner bypasses row level security/],
    ])("%j → %s", (raw, key, message) => {
        const error = configErrorFor(raw);
        expect(error.key).toBe(key);
        expect(error.message).toMatch(message);
        expect(error.message.startsWith(`memory-stack:${key} is `)).toBe(true);
    });

    it("never shows a password in the error", () => {
        expect(configErrorFor({ password: "pw12" }).message).not.toContain("pw12");
        expect(configErrorFor({ provisioner: "external", databaseUrl: "mysql://u:topsecret@h/db" }).message).not.toContain("topsecret");
    });
});

describe("max_connections must hold what can be open at once", () => {
    it("refuses pools that do not fit, naming the keys and the figures", () => {
        const error = configErrorFor({ maxConnections: "10", pooling: '{"defaultPoolSize": 8}' });
        expect(error.key).toBe("maxConnections");
        expect(error.message).toContain("pooling.defaultPoolSize 8 + pooling.reservePoolSize 2 + directConnections 2 = 12 connections");
        expect(error.message).toContain("raise maxConnections to at least 15");
    });

    it("counts the client pool when the pooler is off", () => {
        expect(configErrorFor({ pooling: '{"enabled": false}', client: '{"poolSize": 10, "maxOverflow": 10}' }).message).toContain(
            "client.poolSize 10 + client.maxOverflow 10 + directConnections 2 = 22",
        );
        expect(parseConfig({ pooling: '{"enabled": false}' }).pooling.enabled).toBe(false);
    });

    it("refuses reserved superuser slots that eat all connections", () => {
        expect(configErrorFor({ maxConnections: "3", superuserReservedConnections: "3" }).key).toBe("superuserReservedConnections");
    });

    it("refuses a max_connections the server would refuse to start with (its other backends count towards 262143)", () => {
        expect(configErrorFor({ maxConnections: "262122" }).key).toBe("maxConnections");
        expect(parseConfig({ maxConnections: "262121", pooling: '{"enabled": false}' }).maxConnections).toBe(262121);
    });
});

describe("the external stack", () => {
    const url = "postgresql://postgres:s3cret-pass@db.abc.supabase.co:5432/postgres";

    it("takes host, port, database, user and password from the URL and requires TLS", () => {
        expect(parseConfig({ provisioner: "external", databaseUrl: url })).toMatchObject({
            host: "db.abc.supabase.co",
            hostPort: 5432,
            database: "postgres",
            user: "postgres",
            password: "s3cret-pass",
            sslMode: "require",
        });
    });

    it("needs the URL, a postgres scheme, a host, user and database", () => {
        expect(configErrorFor({ provisioner: "external" }).message).toMatch(
            /required with provisioner: external; set it with `pulumi config set --secret/,
        );
        expect(configErrorFor({ provisioner: "external", databaseUrl: "not a url" }).key).toBe("databaseUrl");
        expect(configErrorFor({ provisioner: "external", databaseUrl: "postgresql://db.abc.supabase.co/postgres" }).message).toMatch(
            /must name a user/,
        );
    });

    it("takes sslmode from the URL, and refuses a sslMode key that disagrees with it", () => {
        expect(parseConfig({ provisioner: "external", databaseUrl: `${url}?sslmode=verify-full` }).sslMode).toBe("verify-full");
        expect(parseConfig({ provisioner: "external", databaseUrl: `${url}?sslmode=verify-full`, sslMode: "verify-full" }).sslMode).toBe(
            "verify-full",
        );
        expect(configErrorFor({ provisioner: "external", databaseUrl: `${url}?sslmode=require`, sslMode: "disable" }).message).toMatch(
            /sslMode is "disable"; disagrees with databaseUrl's sslmode=require/,
        );
        expect(configErrorFor({ provisioner: "external", databaseUrl: `${url}?sslmode=always` }).message).toMatch(
            /sslmode must be one of disable/,
        );
    });

    it("refuses PgBouncer beside a server it does not run", () => {
        expect(configErrorFor({ provisioner: "external", databaseUrl: url, pooling: '{"enabled": true}' }).key).toBe("pooling.enabled");
    });

    it("refuses keys the URL already carries", () => {
        expect(configErrorFor({ provisioner: "external", databaseUrl: url, hostPort: "5433" }).message).toMatch(/databaseUrl\) carries it/);
        const host = configErrorFor({ provisioner: "external", databaseUrl: url, host: "db.example.com" });
        expect([host.key, host.message]).toEqual(["host", expect.stringMatching(/databaseUrl\) carries it/)]);
    });

    it("refuses a databaseUrl in docker mode", () => {
        expect(configErrorFor({ databaseUrl: url }).key).toBe("databaseUrl");
    });
});

describe("migration: how migrations and the rollback wait for locks", () => {
    it("defaults to a 500 ms lock_timeout retried for up to 300 s", () => {
        expect(parseConfig({}).migration).toMatchObject({ lockTimeoutMs: 500, lockDeadlineSeconds: 300 });
    });

    it("takes both keys, and refuses a value out of range naming the key", () => {
        expect(parseConfig({ migration: '{"lockTimeoutMs": 200, "lockDeadlineSeconds": 0}' }).migration).toEqual({
            lockTimeoutMs: 200,
            lockDeadlineSeconds: 0,
            maintenanceWorkMemMb: 1024,
        });
        expect(() => parseConfig({ migration: '{"lockTimeoutMs": 0}' })).toThrow(
            "memory-stack:migration.lockTimeoutMs is 0; must be an integer from 1 to 600000.",
        );
        expect(() => parseConfig({ migration: '{"lockDeadline": 5}' })).toThrow("memory-stack:migration.lockDeadline");
    });
});
