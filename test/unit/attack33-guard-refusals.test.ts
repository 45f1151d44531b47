// The deploy guard's refusals read what the server records (engine/providers/deploy-guard.ts): the data volume's C
// library and owner hold whether or not the schema was ever applied there, unlike the schema resource's state, which
// has nothing to say before its first apply.
import { describe, expect, it } from "vitest";
import { DEFAULT_SCHEMA_OPTIONS } from "../../engine/config/schema-options";
import { diff } from "../../engine/providers/deploy-guard";
import { refuseUndeployable, type Deployed } from "../../engine/providers/schema-preview-refusals";

const connection = { host: "localhost", port: 5432, user: "postgres", password: "secret-pass", database: "ybryx" };
const requested = { connection, schema: DEFAULT_SCHEMA_OPTIONS, serverImage: "postgres:15-alpine" };
const server = (facts: Partial<Deployed>): Deployed => ({ from: "server", appliedMigrations: [], database: "ybryx", ...facts });

describe("the guard's refusals, from the server", () => {
    it("refuse an image on the other C library than the volume's, the schema applied or not", () => {
        const glibc = { libc: "glibc" as const, builtBy: "the running server's image" };
        const message =
            "the server's image would become postgres:15-alpine (musl; memory-stack:image, or with none set the pgvector image " +
            "memory-stack:vector true picks), but the server's data volume was built by the running server's image (glibc); nothing was done.";

        expect(() => refuseUndeployable(server({ libc: glibc }), requested)).toThrow(message);
        expect(() => refuseUndeployable(server({ libc: glibc, appliedMigrations: ["0001_foundation.sql"] }), requested)).toThrow(message);
        expect(() => refuseUndeployable(server({ libc: { ...glibc, libc: "musl" } }), requested)).not.toThrow();
    });

    it("refuse another owner than the volume's, naming the server as the source", () => {
        expect(() => refuseUndeployable(server({ owner: "admin" }), requested)).toThrow(
            'memory-stack:user asks for owner "postgres", but the server\'s data volume was initialised with owner "admin" (the server); nothing was done.',
        );
    });

    it("refuse another database only where the schema was applied", () => {
        const moved = { ...requested, connection: { ...connection, database: "other" } };
        expect(() => refuseUndeployable(server({}), moved)).not.toThrow();
        expect(() => refuseUndeployable(server({ appliedMigrations: ["0001_foundation.sql"] }), moved)).toThrow(
            'but the memory schema is deployed in database "ybryx" (the server); nothing was done.',
        );
    });
});

describe("the guard's diff", () => {
    it("is a change when the connection, the options or the image changed, and needs no database", () => {
        expect(diff("id", requested, requested).changes).toBe(false);
        expect(diff("id", requested, { ...requested, schema: { ...DEFAULT_SCHEMA_OPTIONS, appRole: "agents" } }).changes).toBe(true);
        expect(diff("id", requested, { ...requested, connection: { ...connection, password: "new-pass" } }).changes).toBe(true);
        expect(diff("id", requested, { ...requested, serverImage: "postgres:15" }).changes).toBe(true);
    });
});
