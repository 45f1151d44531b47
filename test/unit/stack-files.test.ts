import { describe, expect, it } from "vitest";
import { parseConfig } from "../../engine/config/config";
import { stackConfig } from "../support/stack-files";

describe("the example stacks in Pulumi.<stack>.yaml", () => {
    it("dev: docker, postgres:15-alpine, PgBouncer in transaction mode, JSONB embeddings", () => {
        expect(parseConfig(stackConfig("dev"))).toMatchObject({
            provisioner: "docker",
            image: "postgres:15-alpine",
            vector: false,
            maxConnections: 20,
            pooling: { enabled: true, mode: "transaction", defaultPoolSize: 5, maxClientConn: 250 },
        });
    });

    it("vector: the pgvector image with vector(1536) and an hnsw index", () => {
        expect(parseConfig(stackConfig("vector"))).toMatchObject({
            provisioner: "docker",
            image: "pgvector/pgvector:pg15",
            vector: true,
            vectorDimensions: 1536,
            vectorIndex: "hnsw",
        });
    });

    it("external: needs its secret URL, then requires TLS and uses Supabase's existing roles", () => {
        expect(() => parseConfig(stackConfig("external"))).toThrow(/memory-stack:databaseUrl .*is required/);
        const config = parseConfig(
            stackConfig("external", { databaseUrl: "postgresql://postgres:pw-123456@db.ref.supabase.co:5432/postgres" }),
        );
        expect(config).toMatchObject({
            provisioner: "external",
            sslMode: "require",
            appRole: "authenticated",
            adminRole: "service_role",
            createRoles: false,
            plainClaimLogins: ["authenticator"],
            protect: true,
            pooling: { enabled: false },
        });
    });
});
