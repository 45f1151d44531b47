// The SchemaMigration dynamic resource as the engine sees it: its serialized stub and its inputs, and
// the provider-host calls that need no full lifecycle (lifecycle-*.test.ts drive up, refresh and destroy).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ConnectionSettings } from "../../engine/db/url";
import { freshDatabase } from "../support/database";
import { memoryProgram, startLifecycle, type Lifecycle, type ProgramResource } from "../support/lifecycle";
import { urnFor } from "../support/provider-host";
import { registerSchemaMigration, type RegisteredSchemaMigration } from "../support/schema-provider";
import { schemaDatabase, type SchemaDatabase } from "../support/schema-db";
import { secretPaths } from "../support/secrets";

let schema: SchemaDatabase;
let life: Lifecycle;
let connection: ConnectionSettings;
let first: RegisteredSchemaMigration;
let resource: ProgramResource;

beforeAll(async () => {
    [schema, life] = await Promise.all([schemaDatabase("schema_resource", {}, false), startLifecycle()]);
    connection = schema.db.settings;
    first = await registerSchemaMigration("memory-schema", { connection, schema: schema.options });
    [resource] = await memoryProgram({ connection, schema: schema.options });
});

afterAll(async () => {
    await life?.host.stop();
    await schema?.drop();
});

describe("the serialized SchemaMigration provider", () => {
    it("is small and holds no password, no connection and no machine path", () => {
        expect(first.providerText.length).toBeLessThan(4_000);
        expect(first.providerText).not.toContain(connection.password);
        expect(first.providerText).not.toContain(String(connection.port));
        expect(first.providerText).not.toContain(process.cwd());
    });

    it("sends the connection as a secret and declares it a secret output", () => {
        expect(secretPaths(first.rawInputs)).toEqual(["connection"]);
        expect(first.opts.additionalSecretOutputs).toContain("connection");
    });

    it("treats a new password, host or port as an update, never a replacement, without touching the database", async () => {
        const urn = urnFor(resource.type, "memory-schema");
        const inputs = await life.host.check(urn, {}, resource.inputs);
        const olds = { ...inputs, stateVersion: 3, version: "0009_rls.sql", appliedMigrations: [], missing: [] };
        for (const change of [{ password: "rotated-password" }, { port: 1 }, { host: "db.internal" }]) {
            const news = { ...inputs, connection: { ...connection, ...change } };
            expect(await life.host.diff("memory-stack-schema", urn, olds, news)).toEqual({
                changes: "some",
                replaces: [],
                deleteBeforeReplace: false,
            });
        }
    });

    it("deletes successfully when the database itself is gone", async () => {
        const gone = await freshDatabase("schema_resource_gone");
        await gone.drop();
        const urn = urnFor(resource.type, "memory-schema");
        const inputs = await life.host.check(urn, {}, resource.inputs);
        const olds = { ...inputs, connection: { ...connection, database: gone.name }, stateVersion: 3, version: "", appliedMigrations: [] };
        await expect(life.host.delete("memory-stack-schema", urn, olds)).resolves.toBeUndefined();
    });
});
