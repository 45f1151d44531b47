// The SchemaMigration resource inside the stack, under Pulumi's mocks: wiring, ordering and secrets.
import { beforeAll, describe, expect, it } from "vitest";
import { installMocks, isSecret, resolve, runStack } from "../support/program";
import { SCHEMA_MIGRATION_TOKEN } from "../support/schema-provider";

const CONTAINER = "docker:index/container:Container";
const ROLE = "postgresql:index/role:Role";
const GRANT = "postgresql:index/grant:Grant";

beforeAll(() => {
    installMocks("dev");
});

describe("the schema migration in the stack", () => {
    it("is one child named <stack>-schema that waits for the healthy server and the roles", async () => {
        const run = await runStack({}, "memory-stack-dev");
        const schema = run.find(SCHEMA_MIGRATION_TOKEN);
        expect(schema.name).toBe("memory-stack-dev-schema");
        expect(schema.opts.parent).toBe(run.result);
        const dependsOn = schema.opts.dependsOn as unknown[];
        expect(dependsOn).toContain(run.find(CONTAINER, "-postgres").resource);
        for (const role of run.all(ROLE)) {
            expect(dependsOn).toContain(role.resource);
        }
    });

    it("migrates over the direct connection as a secret, never the pooler, and keeps it secret in state", async () => {
        const schema = (await runStack({}, "memory-stack-direct")).find(SCHEMA_MIGRATION_TOKEN);
        expect(await isSecret(schema.props.connection as never)).toBe(true);
        const connection = (await resolve(schema.props.connection as never)) as { host: string; port: number; user: string };
        expect(connection).toMatchObject({ host: "localhost", port: 5432, user: "postgres" });
        expect(schema.opts.additionalSecretOutputs).toContain("connection");
    });

    it("renders the variant from config and carries the rollback data delete needs", async () => {
        const dev = (await runStack({}, "memory-stack-jsonb")).find(SCHEMA_MIGRATION_TOKEN);
        expect(dev.props.variant).toBe("jsonb");
        expect((dev.props.migrations as { name: string }[]).map((m) => m.name)).not.toContain("0010_vector.sql");
        expect(dev.props.rollbackSql).toContain("from memory_stack.created_objects");
        expect(dev.props.schema).toMatchObject({ vector: false, rls: true, appRole: "memory_app", adminRole: "memory_admin" });
        expect(dev.props.locks).toEqual({ timeoutMs: 500, deadlineSeconds: 300 });
        expect(dev.props.allowDataLoss).toBe(false);
        // The ledger records it, so another stack given this database is refused (engine/migrate/deployed-by.ts).
        expect(dev.props.stack).toBe("memory-stack/dev");

        const vector = (
            await runStack(
                {
                    vector: "true",
                    vectorDimensions: "768",
                    allowDataLoss: "true",
                    migration: '{"lockTimeoutMs": 200, "lockDeadlineSeconds": 60}',
                },
                "memory-stack-vec",
            )
        ).find(SCHEMA_MIGRATION_TOKEN);
        expect(vector.props.variant).toBe("vector(768,hnsw)");
        expect(vector.props.locks).toEqual({ timeoutMs: 200, deadlineSeconds: 60 });
        expect((vector.props.migrations as { name: string }[]).map((m) => m.name)).toContain("0017_similarity_vector.sql");
        expect(vector.props.allowDataLoss).toBe(true);
        expect(dev.props.searchSettings).toBeUndefined();
        expect(vector.props.searchSettings).toBeUndefined();
    });

    it("carries the stack's pgvector search settings when given, and nothing otherwise", async () => {
        const tuned = (await runStack({ vector: "true", vectorEfSearch: "120" }, "memory-stack-ef")).find(SCHEMA_MIGRATION_TOKEN);
        expect(tuned.props.searchSettings).toEqual({ hnswEfSearch: 120 });
    });

    it("is protected when config says so", async () => {
        expect((await runStack({}, "memory-stack-unprotected")).find(SCHEMA_MIGRATION_TOKEN).opts.protect).toBe(false);
        expect((await runStack({ protect: "true" }, "memory-stack-protected")).find(SCHEMA_MIGRATION_TOKEN).opts.protect).toBe(true);
    });

    it("comes before the grants, which name its tables", async () => {
        const run = await runStack({}, "memory-stack-grants");
        const schema = run.find(SCHEMA_MIGRATION_TOKEN);
        const grants = run.all(GRANT);
        expect(grants.length).toBeGreaterThan(0);
        expect(grants.every((grant) => (grant.opts.dependsOn as unknown[]).includes(schema.resource))).toBe(true);
    });
});
