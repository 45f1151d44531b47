// The Verification resource inside the stack, under Pulumi's mocks: after the schema and its grants,
// on the direct connection as a secret, expecting the configured variant, its summary an output.
import { beforeAll, describe, expect, it } from "vitest";
import type { Expectations } from "../../engine/verify/expected";
import { installMocks, isSecret, resolve, runStack } from "../support/program";
import { SCHEMA_MIGRATION_TOKEN, VERIFICATION_TOKEN } from "../support/schema-provider";

const GRANT = "postgresql:index/grant:Grant";

beforeAll(() => {
    installMocks("dev");
});

describe("the verification in the stack", () => {
    it("is one child named <stack>-verification that runs after the schema and every grant", async () => {
        const run = await runStack({}, "memory-stack-dev");
        const verification = run.find(VERIFICATION_TOKEN);

        expect(verification.name).toBe("memory-stack-dev-verification");
        expect(verification.opts.parent).toBe(run.result);
        const dependsOn = verification.opts.dependsOn as unknown[];
        expect(dependsOn).toContain(run.find(SCHEMA_MIGRATION_TOKEN).resource);
        const grants = run.all(GRANT);
        expect(grants.length).toBeGreaterThan(0);
        for (const grant of grants) {
            // The grants sit under the Grants component the verification depends on.
            expect(dependsOn).toContain(grant.opts.parent);
        }
    });

    it("checks over the direct connection, as a secret", async () => {
        const verification = (await runStack({}, "memory-stack-direct")).find(VERIFICATION_TOKEN);

        expect(await isSecret(verification.props.connection as never)).toBe(true);
        expect(await resolve(verification.props.connection as never)).toMatchObject({ host: "localhost", port: 5432, user: "postgres" });
    });

    it("expects the configured variant, roles and rls", async () => {
        const dev = await ((await runStack({}, "memory-stack-jsonb")).find(VERIFICATION_TOKEN).props.expected as Promise<Expectations>);
        const vector = await ((
            await runStack({ vector: "true", vectorDimensions: "768", rls: "false" }, "memory-stack-vec")
        ).find(VERIFICATION_TOKEN).props.expected as Promise<Expectations>);

        expect(dev).toMatchObject({ variant: "jsonb", rls: true, appRole: "memory_app", adminRole: "memory_admin" });
        expect(dev.manifest.indexes).toHaveLength(49);
        expect(vector).toMatchObject({ variant: "vector(768,hnsw)", rls: false });
        expect(vector.manifest.indexes).toHaveLength(51);
        expect(vector.manifest.policies).toEqual([]);
    });

    it("exposes its summary as the stack component's verification output", async () => {
        const run = await runStack({}, "memory-stack-summary");
        const summary = await resolve(run.result.verification.summary);

        expect(Object.keys(summary).sort()).toEqual([
            "checkedAt",
            "checksPassed",
            "counts",
            "durationMs",
            "roundTrips",
            "schemaChecksum",
            "variant",
        ]);
    });
});
