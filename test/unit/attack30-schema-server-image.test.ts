// The schema resource carries the docker server's image, so that its diff (engine/providers/schema-migration.ts) can
// refuse at preview an image on the other C library than the one that built the data volume; external stacks have none.
import { beforeAll, describe, expect, it } from "vitest";
import { installMocks, resolve, runStack } from "../support/program";

beforeAll(() => {
    installMocks("dev");
});

describe("the schema resource's server image", () => {
    it("is the docker server's image, kept for diff; external stacks have none", async () => {
        const docker = await runStack({ vector: "true" }, "attack30-image-docker");
        const schema = docker.all("pulumi-nodejs:dynamic/memory-stack:SchemaMigration")[0];
        expect(await resolve(schema.props.serverImage as string)).toBe("pgvector/pgvector:pg15");
        const external = await runStack(
            { provisioner: "external", databaseUrl: "postgresql://owner:managed-secret-1@pg.example.com:5432/memory?sslmode=require" },
            "attack30-image-external",
        );
        expect(external.all("pulumi-nodejs:dynamic/memory-stack:SchemaMigration")[0].props.serverImage).toBeUndefined();
    });
});
