import { describe, expect, it } from "vitest";
import { connectionBudget, DEFAULT_PGBOUNCER_IMAGE, parseConfig, type RawConfig } from "../../engine/config/config";
import { configErrorFor } from "../support/config-errors";

const pooling = (value: object): RawConfig => ({ pooling: JSON.stringify(value) });
const client = (value: object): string => JSON.stringify(value);

describe("pooling defaults", () => {
    it("pools per transaction with the seed's sizes, on 6432, with a pinned PgBouncer 1.26 image", () => {
        const config = parseConfig({});
        expect(config.pooling).toEqual({
            enabled: true,
            mode: "transaction",
            defaultPoolSize: 5,
            reservePoolSize: 2,
            maxClientConn: 250,
            hostPort: 6432,
            image: "edoburu/pgbouncer:v1.26.0-p0",
        });
        expect(DEFAULT_PGBOUNCER_IMAGE).toBe(config.pooling.image);
    });

    it("gives the application the seed's client pool: 5 plus 10 overflow, 30 s timeout, recycle 1800 s, pre-ping", () => {
        expect(parseConfig({}).client).toEqual({
            poolSize: 5,
            maxOverflow: 10,
            poolTimeoutSeconds: 30,
            poolRecycleSeconds: 1800,
            prePing: true,
        });
    });
});

describe("the connection budget", () => {
    it("counts the pooler's pools plus the direct connections when pooling is on: 5 + 2 + 2 of 20 - 3", () => {
        expect(connectionBudget(parseConfig({}))).toMatchObject({ needed: 9, available: 17 });
    });

    it("counts the application's own pool when pooling is off: 5 + 10 + 2", () => {
        expect(connectionBudget(parseConfig(pooling({ enabled: false }))).needed).toBe(17);
    });

    it("rejects pools that do not fit in maxConnections, naming every part", () => {
        const error = configErrorFor({ ...pooling({ defaultPoolSize: 14 }) });
        expect(error.key).toBe("maxConnections");
        expect(error.message).toContain("pooling.defaultPoolSize 14 + pooling.reservePoolSize 2 + directConnections 2 = 18");
        expect(error.message).toContain("raise maxConnections to at least 21");
    });

    it("accepts pools that exactly fill what the reserved slots leave", () => {
        expect(parseConfig(pooling({ defaultPoolSize: 13 })).pooling.defaultPoolSize).toBe(13);
    });
});

describe("pooler and application pool fit together", () => {
    it("rejects a maxClientConn below the application's pool plus overflow", () => {
        const error = configErrorFor({ ...pooling({ maxClientConn: 14 }) });
        expect(error.key).toBe("pooling.maxClientConn");
        expect(error.message).toContain("client.poolSize 5 + client.maxOverflow 10 = 15");
    });

    it("accepts a maxClientConn equal to the application's pool plus overflow", () => {
        expect(parseConfig(pooling({ maxClientConn: 15 })).pooling.maxClientConn).toBe(15);
    });

    it("rejects session mode when the application could hold more connections than the server pool", () => {
        const error = configErrorFor(pooling({ mode: "session" }));
        expect(error.key).toBe("pooling.mode");
        expect(error.message).toContain("exceeds pooling.defaultPoolSize 5 + pooling.reservePoolSize 2 = 7");
        expect(error.message).toContain("use transaction mode");
    });

    it("accepts session mode when the application's pool fits the server pool", () => {
        expect(parseConfig({ ...pooling({ mode: "session" }), client: client({ maxOverflow: 2 }) }).pooling.mode).toBe("session");
    });

    it("ignores the pooler's limits when pooling is off", () => {
        expect(parseConfig(pooling({ enabled: false, maxClientConn: 1, image: "pgbouncer" })).pooling.enabled).toBe(false);
    });
});

describe("the PgBouncer image", () => {
    it.each(["edoburu/pgbouncer", "edoburu/pgbouncer:latest", "registry.local:5000/pgbouncer"])("rejects the unpinned %s", (image) => {
        const error = configErrorFor(pooling({ image }));
        expect(error.key).toBe("pooling.image");
        expect(error.message).toContain("must be pinned to a version tag or a digest");
    });

    it.each(["edoburu/pgbouncer:v1.25.2-p0", "registry.local:5000/pgbouncer:1.24.1", `edoburu/pgbouncer@sha256:${"0123abcd".repeat(8)}`])(
        "accepts the pinned %s",
        (image) => {
            expect(parseConfig(pooling({ image })).pooling.image).toBe(image);
        },
    );

    it.each(["edoburu/pgbouncer@sha256:0123abcd", "edoburu/PgBouncer:1.26.1"])("refuses %s, which is no image reference", (image) => {
        const error = configErrorFor(pooling({ image }));
        expect(error.key).toBe("pooling.image");
        expect(error.message).toContain("is not an image reference");
    });
});

describe("bad pooling values", () => {
    it.each<[string, object]>([
        ["pooling.mode", { mode: "fast" }],
        ["pooling.defaultPoolSize", { defaultPoolSize: 0 }],
        ["pooling.reservePoolSize", { reservePoolSize: -1 }],
        ["pooling.maxClientConn", { maxClientConn: "many" }],
        ["pooling.hostPort", { hostPort: 70000 }],
        ["pooling.hostPort", { hostPort: 5432 }],
        ["pooling.image", { image: "" }],
        ["pooling.size", { size: 5 }],
    ])("rejects %s in %j", (key, value) => {
        expect(configErrorFor(pooling(value)).key).toBe(key);
    });

    it("leaves pooling off for an external server and rejects turning it on", () => {
        const external = { provisioner: "external", databaseUrl: "postgresql://u:p@db.example.com/app" };
        expect(parseConfig(external).pooling.enabled).toBe(false);
        expect(configErrorFor({ ...external, ...pooling({ enabled: true }) }).key).toBe("pooling.enabled");
    });
});
