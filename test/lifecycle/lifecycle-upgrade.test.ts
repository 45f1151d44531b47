// A newer memory-stack deployed over state an older one wrote, through Pulumi's dynamic-provider
// host. Release 1 (commit eb2eb29) serialized a stub without `read` and wrote outputs of
// stateVersion 1: no `objects`, no `missing`. That state must still refresh, diff, update and
// destroy cleanly with today's code.
//
// How the old state is built, honestly: the database is migrated by the engine exactly as release
// 1's create did; the old __provider text is Pulumi's own serialization (under mocks) of release 1's
// stub, reproduced below; the old outputs are what release 1's provider returned — today's fields
// minus the two it did not have, with stateVersion 1. (Release 1's provider.ts is not kept around:
// the stub loads provider.ts from the checkout, so old text always runs today's provider code.)
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as pulumi from "@pulumi/pulumi";
import { applyMigrations, describeVariant, readLedger } from "../../components/schema/engine";
import { loadMigrationSources, renderMigrations } from "../../components/schema/render";
import { loadProjectModule } from "../../components/provider-loader";
import { schemaMigrationInputs, type SchemaMigrationArgs } from "../../components/schema/resource";
import { Lifecycle, memoryProgram, startLifecycle, type ProgramResource, type ResourceState } from "../support/lifecycle";
import { remainingMemoryObjects } from "../support/memory-objects";
import { urnFor } from "../support/provider-host";
import { loadProvider, registerDynamic, SCHEMA_MIGRATION_TOKEN } from "../support/schema-provider";
import { schemaDatabase, type SchemaDatabase } from "../support/schema-db";

type Provider = typeof import("../../components/schema/provider");

// components/schema/resource.ts's stub as release 1 had it: the same loader, no read.
const load = loadProjectModule;
const release1Stub: pulumi.dynamic.ResourceProvider = {
    diff: async (id, olds, news) => load<Provider>("components/schema/provider.ts").diff(id, olds, news),
    create: async (inputs) => load<Provider>("components/schema/provider.ts").create(inputs),
    update: async (id, olds, news) => load<Provider>("components/schema/provider.ts").update(id, olds, news),
    delete: async (id, olds) => load<Provider>("components/schema/provider.ts").remove(id, olds),
};

class Release1SchemaMigration extends pulumi.dynamic.Resource {
    constructor(name: string, args: SchemaMigrationArgs, opts: pulumi.CustomResourceOptions) {
        const { objects: _notInRelease1, ...inputs } = schemaMigrationInputs(args);
        super(release1Stub, name, { ...inputs, version: undefined, appliedMigrations: undefined, stateVersion: undefined },
            { ...opts, additionalSecretOutputs: ["connection"] }, "memory-stack", "SchemaMigration");
    }
}

let schema: SchemaDatabase;
let life: Lifecycle;
let program: ProgramResource[];
let release1State: ResourceState;

beforeAll(async () => {
    [schema, life] = await Promise.all([schemaDatabase("lifecycle_upgrade", {}, false), startLifecycle()]);
    const connection = schema.db.settings;
    const migrations = renderMigrations(loadMigrationSources(), schema.options);
    await applyMigrations(schema.client, migrations, { variant: describeVariant(schema.options) });

    const old = await registerDynamic(SCHEMA_MIGRATION_TOKEN, "memory-schema-release-1",
        (opts) => new Release1SchemaMigration("memory-schema-release-1", { connection: pulumi.secret(connection), schema: schema.options }, opts));
    const { migrations: migrationsInput, ...inputs } = await life.host.check(urnFor(old.type, "memory-schema"), {}, old.rawInputs);
    release1State = {
        id: "memory-stack-schema",
        urn: urnFor(old.type, "memory-schema"),
        inputs: { ...inputs, migrations: migrationsInput },
        outputs: { ...inputs, stateVersion: 1, version: migrations.at(-1)!.name, appliedMigrations: migrations.map((m) => m.name) },
        secretOutputs: ["connection"],
    };
    life.state.set("memory-schema", release1State);
    program = await memoryProgram({ connection, schema: schema.options });
    await life.up([program[1]]); // the verification, created next to the old schema state
});

afterAll(async () => {
    await life?.host.stop();
    await schema?.drop();
});

describe("state written by release 1", () => {
    it("has release 1's shape: its own provider text without read, and outputs without objects or missing", () => {
        const outputs = life.outputs("memory-schema");
        expect(Object.keys(loadProvider(outputs.__provider as string)).sort()).toEqual(["create", "delete", "diff", "update"]);
        expect(Object.keys(loadProvider(program[0].inputs.__provider as string)).sort()).toEqual(["create", "delete", "diff", "read", "update"]);
        expect(outputs).toMatchObject({ stateVersion: 1 });
        expect(Object.keys(outputs)).not.toContain("objects");
    });

    it("refreshes through its old provider text, which has no read, as unchanged", async () => {
        expect(await life.refresh()).toEqual({ "memory-schema": [], "memory-verification": [] });
    });

    it("diffs as a change with today's provider and updates to today's shape without running any migration", async () => {
        const ledger = await readLedger(schema.client);

        const steps = await life.up(program);

        expect(steps).toEqual({ "memory-schema": "update", "memory-verification": "update" });
        expect(life.lastDiff("memory-schema"))
            .toEqual({ changes: "some", replaces: [], deleteBeforeReplace: false });
        expect(await readLedger(schema.client)).toEqual(ledger);
        const outputs = life.outputs("memory-schema");
        expect(outputs).toMatchObject({ stateVersion: 2, missing: [], __provider: program[0].inputs.__provider });
        expect(outputs.objects).toEqual(program[0].inputs.objects);
        expect(await life.up(program)).toEqual({ "memory-schema": "same", "memory-verification": "update" });
    });

    it("is still destroyed by its own provider text and outputs", async () => {
        const old = new Lifecycle(life.host);
        old.state.set("memory-schema", release1State);

        await old.destroy();

        expect(await remainingMemoryObjects(schema.client, schema.options)).toEqual([]);
    });
});
