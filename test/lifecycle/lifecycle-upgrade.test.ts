// Today's memory-stack over state that earlier releases wrote, through Pulumi's dynamic-provider host.
//
// How the old state is built, honestly: the database is migrated by the engine as those releases'
// create did; the old __provider texts are the stubs Pulumi serialized for release 1 (commit eb2eb29:
// SchemaMigration without read, outputs of stateVersion 1 without `objects` or `missing`) and release 2
// (commit 1d001c4: outputs of stateVersion 2), recorded in test/fixtures/provider-stubs.json. Both load
// components/schema/provider.ts from the working directory through tsx: that path now re-exports
// today's implementation, so such a stack refreshes, updates and destroys; its next up stores today's
// stub, which loads memory-stack/providers by name.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { applyMigrations, describeVariant, readLedger } from "../../engine/migrate/index";
import { loadMigrationSources, renderMigrations } from "../../engine/migrate/render";
import { Lifecycle, memoryProgram, startLifecycle, type ProgramResource, type ResourceState } from "../support/lifecycle";
import { remainingMemoryObjects } from "../support/memory-objects";
import { urnFor } from "../support/provider-host";
import { loadProvider } from "../support/schema-provider";
import { schemaDatabase, type SchemaDatabase } from "../support/schema-db";

const STUBS = JSON.parse(readFileSync(join(__dirname, "..", "fixtures", "provider-stubs.json"), "utf8")) as {
    release1: { schemaMigration: string };
    release2: { schemaMigration: string; verification: string };
};

let schema: SchemaDatabase;
let life: Lifecycle;
let program: ProgramResource[];

beforeAll(async () => {
    [schema, life] = await Promise.all([schemaDatabase("lifecycle_upgrade", {}, false), startLifecycle()]);
    program = await memoryProgram({ connection: schema.db.settings, schema: schema.options });
});

afterAll(async () => {
    await life?.host.stop();
    await schema?.drop();
});

/** The schema resource's state as a release wrote it: its stub, and its outputs (release 1 without objects and missing). */
async function oldSchemaState(release: 1 | 2): Promise<ResourceState> {
    const migrations = renderMigrations(loadMigrationSources(), schema.options);
    await applyMigrations(schema.client, migrations, { variant: describeVariant(schema.options) });
    const urn = urnFor(program[0].type, "memory-schema");
    const { objects, ...inputs } = await life.host.check(urn, {}, program[0].inputs);
    const stub = release === 1 ? STUBS.release1.schemaMigration : STUBS.release2.schemaMigration;
    const outputs = { ...inputs, __provider: stub, version: migrations.at(-1)!.name, appliedMigrations: migrations.map((m) => m.name) };
    return {
        id: "memory-stack-schema",
        urn,
        inputs: { ...inputs, __provider: stub, ...(release === 2 ? { objects } : {}) },
        outputs: release === 1 ? { ...outputs, stateVersion: 1 } : { ...outputs, objects, missing: [], stateVersion: 2 },
        secretOutputs: ["connection"],
    };
}

describe.each([1, 2] as const)("state written by release %i", (release) => {
    let old: ResourceState;
    beforeAll(async () => {
        old = await oldSchemaState(release);
        life.state.clear();
        life.state.set("memory-schema", old);
    });

    it("carries that release's own stub, which loads components/schema/provider.ts through tsx", () => {
        const text = life.outputs("memory-schema").__provider as string;
        expect(text).toContain('"components/schema/provider.ts"');
        expect(Object.keys(loadProvider(text)).sort()).toEqual(
            release === 1 ? ["create", "delete", "diff", "update"] : ["create", "delete", "diff", "read", "update"],
        );
        expect(Object.keys(loadProvider(program[0].inputs.__provider as string)).sort()).toEqual([
            "create",
            "delete",
            "diff",
            "read",
            "update",
        ]);
    });

    it("refreshes through its old stub as unchanged", async () => {
        expect(await life.refresh()).toEqual({ "memory-schema": [] });
    });

    it("diffs as a change and updates to today's stub and shape without running any migration", async () => {
        const ledger = await readLedger(schema.client);

        const steps = await life.up(program);

        expect(steps).toEqual({ "memory-schema": "update", "memory-verification": "create" });
        expect(life.lastDiff("memory-schema")).toEqual({ changes: "some", replaces: [], deleteBeforeReplace: false });
        // Nothing applied; the rows now name the stack that deployed them (engine/migrate/deployed-by.ts).
        expect(await readLedger(schema.client)).toEqual(ledger.map((row) => ({ ...row, stack: "memory-stack/dev" })));
        const outputs = life.outputs("memory-schema");
        expect(outputs).toMatchObject({ missing: [], __provider: program[0].inputs.__provider });
        expect(outputs.__provider).toContain("memory-stack/providers");
        expect(outputs.objects).toEqual(program[0].inputs.objects);
        expect(await life.up(program)).toMatchObject({ "memory-schema": "same" });
    });

    it("is still destroyed by its own stub and outputs", async () => {
        const destroyer = new Lifecycle(life.host);
        destroyer.state.set("memory-schema", old);

        // Pulumi deletes the Grants component before the schema it depends on.
        await program[0].companion!.down();
        await destroyer.destroy();

        expect(await remainingMemoryObjects(schema.client, schema.options)).toEqual([]);
    });
});

describe("state written by a newer memory-stack", () => {
    it("is refused by diff, refresh and destroy, naming both versions, and nothing is dropped", async () => {
        const current = await oldSchemaState(2);
        const newer: ResourceState = {
            ...current,
            outputs: { ...current.outputs, __provider: program[0].inputs.__provider, stateVersion: 99 },
        };
        const refused = /written by a newer memory-stack \(state version 99; this one understands up to \d+\)\. Nothing was done/;

        await expect(life.host.diff(newer.id, newer.urn, newer.outputs, newer.inputs)).rejects.toThrow(refused);
        await expect(life.host.read(newer.id, newer.urn, newer.outputs, newer.inputs)).rejects.toThrow(refused);
        await expect(life.host.delete(newer.id, newer.urn, newer.outputs)).rejects.toThrow(refused);

        expect(await remainingMemoryObjects(schema.client, schema.options)).not.toEqual([]);
        expect((await readLedger(schema.client)).length).toBeGreaterThan(0);
    });
});
