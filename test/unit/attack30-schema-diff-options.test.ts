// The schema resource's diff (run at preview, before any resource changes) refuses an option the deployed schema cannot
// take: a role's new name, rls off, vector off, another dimension or index. Update refused them too, but only after the
// resources the schema depends on had changed: the postgresql provider renames a live role in place (ALTER ROLE ...
// RENAME: the application's logins fail), and vector off swaps the server for an image without pgvector.
import { describe, expect, it } from "vitest";
import { diff, STATE_VERSION, type SchemaMigrationInputs, type SchemaMigrationOutputs } from "../../engine/providers/schema-migration";
import { DEFAULT_SCHEMA_OPTIONS } from "../../engine/config/schema-options";
import type { SchemaOptions } from "../../engine/migrate/render";

const jsonb: SchemaOptions = DEFAULT_SCHEMA_OPTIONS;
const inputs = (schema: SchemaOptions): SchemaMigrationInputs => ({
    connection: { host: "localhost", port: 5432, user: "postgres", password: "secret-pass", database: "ybryx" },
    migrations: [{ name: "0001_foundation.sql", sql: "select 1", checksum: "c1" }],
    checksum: "sum",
    variant: schema.vector ? `vector(${schema.vectorDimensions},${schema.vectorIndex})` : "jsonb",
    rollbackSql: "select 1",
    schema,
    locks: { timeoutMs: 500, deadlineSeconds: 300 },
    allowDataLoss: false,
    readinessTimeoutMs: 1000,
    objects: ["table sessions"],
});
const state = (schema: SchemaOptions, appliedMigrations = ["0001_foundation.sql"]): SchemaMigrationOutputs => ({
    ...inputs(schema),
    stateVersion: STATE_VERSION,
    version: appliedMigrations.at(-1) ?? "",
    appliedMigrations,
    missing: [],
});
const vector: SchemaOptions = { ...jsonb, vector: true };

describe("diff refuses, at preview, an option the deployed schema cannot take", () => {
    it("names the config key, both values and the way back", () => {
        for (const [olds, news, message] of [
            [
                jsonb,
                { ...jsonb, appRole: "agents" },
                'memory-stack:appRole asks for appRole "agents", but the stack\'s state (its last up) records appRole "memory_app"; nothing was done.',
            ],
            [jsonb, { ...jsonb, adminRole: "ops" }, 'memory-stack:adminRole asks for adminRole "ops"'],
            [jsonb, { ...jsonb, rls: false }, "memory-stack:rls asks for rls false, but the stack's state (its last up) records rls true"],
            [vector, jsonb, "Turning vector off on a live stack is not supported"],
            [vector, { ...vector, vectorDimensions: 768 }, "memory-stack:vectorDimensions asks for vectorDimensions 768"],
            [vector, { ...vector, vectorIndex: "ivfflat" }, 'memory-stack:vectorIndex asks for vectorIndex "ivfflat"'],
        ] as const) {
            expect(() => diff("id", state(olds), inputs(news)), JSON.stringify(news)).toThrow(message);
        }
        expect(() => diff("id", state(jsonb), inputs({ ...jsonb, appRole: "agents" }))).toThrow("set it back");
    });

    it("lets through the switch to vector, and a state that lists no applied migration (rolled back outside Pulumi, refreshed)", () => {
        expect(diff("id", state(jsonb), inputs({ ...vector, vectorDimensions: 768, vectorIndex: "ivfflat" })).changes).toBe(true);
        expect(diff("id", state(jsonb, []), inputs({ ...jsonb, appRole: "agents", rls: false })).changes).toBe(true);
        expect(diff("id", state(vector), inputs(vector)).changes).toBe(false);
    });
});

describe("diff refuses, at preview, a connection to another database than the schema's", () => {
    const elsewhere = (database: string): SchemaMigrationInputs => ({
        ...inputs(jsonb),
        connection: { ...inputs(jsonb).connection, database },
    });

    it("names both databases and the way to move", () => {
        expect(() => diff("id", state(jsonb), elsewhere("memory"))).toThrow(
            'the stack\'s connection names database "memory" (memory-stack:database, or the database of memory-stack:databaseUrl), ' +
                'but the memory schema is deployed in database "ybryx" (the stack\'s state); nothing was done.',
        );
        expect(() => diff("id", state(jsonb), elsewhere("memory"))).toThrow("`pulumi destroy` it first");
    });

    it("lets through a new host, port or password, an unknown connection, and a state with nothing applied", () => {
        const moved = { ...inputs(jsonb), connection: { ...inputs(jsonb).connection, host: "db2", port: 5433, password: "other-pass" } };
        expect(diff("id", state(jsonb), moved).changes).toBe(true);
        const unknown = { ...inputs(jsonb), connection: "04da6b54-80e4-46f7-96ec-b56ff0331ba9" } as unknown as SchemaMigrationInputs;
        expect(diff("id", state(jsonb), unknown).changes).toBe(true);
        expect(diff("id", state(jsonb, []), elsewhere("memory")).changes).toBe(true);
    });
});

describe("diff refuses, at preview, a server image on the other C library than the volume's", () => {
    const imaged = (serverImage: string | undefined, schema = jsonb): SchemaMigrationInputs => ({
        ...inputs(schema),
        ...(serverImage === undefined ? {} : { serverImage }),
    });
    const stateOn = (serverImage: string | undefined): SchemaMigrationOutputs => ({ ...state(jsonb), ...imaged(serverImage) });

    it("names both images, their libraries and what to do", () => {
        expect(() => diff("id", stateOn("postgres:15-alpine"), imaged("pgvector/pgvector:pg15", vector))).toThrow(
            "the server's image would become pgvector/pgvector:pg15 (glibc; memory-stack:image, or with none set the pgvector image " +
                "memory-stack:vector true picks), but the server's data volume was built by postgres:15-alpine (musl); nothing was done.",
        );
        expect(() => diff("id", stateOn("postgres:15.8-bookworm"), imaged("postgres:15-alpine3.20"))).toThrow(
            "Keep an image on glibc (a Debian one, such as postgres:15 or pgvector/pgvector:pg15)",
        );
    });

    it("lets through the same library, images whose reference does not say, and state that kept no image", () => {
        for (const [was, now] of [
            ["postgres:15-bookworm", "pgvector/pgvector:0.8.0-pg15"],
            ["postgres:15.6-alpine", "postgres:15.8-alpine3.20"],
            ["postgres:15-alpine", "registry.example.com/team/postgres:15"],
            ["postgres:15-alpine", "postgres@sha256:" + "a".repeat(64)],
            [undefined, "pgvector/pgvector:pg15"],
        ] as const) {
            expect(() => diff("id", stateOn(was), imaged(now)), `${was} -> ${now}`).not.toThrow();
        }
    });
});

describe("diff refuses, at preview, another owner for a docker stack's volume", () => {
    const owner = (user: string, serverImage?: string): SchemaMigrationInputs => ({
        ...inputs(jsonb),
        connection: { ...inputs(jsonb).connection, user },
        ...(serverImage === undefined ? {} : { serverImage }),
    });

    it("names both owners and the way out, docker only", () => {
        expect(() => diff("id", state(jsonb), owner("admin", "postgres:15-alpine"))).toThrow(
            'memory-stack:user asks for owner "admin", but the server\'s data volume was initialised with owner "postgres" (the stack\'s state); nothing was done.',
        );
        // external: the deployer may change (a dedicated owner instead of a superuser)
        expect(diff("id", state(jsonb), owner("admin")).changes).toBe(true);
        expect(diff("id", state(jsonb), owner("postgres", "postgres:15-alpine")).changes).toBe(false);
    });
});
