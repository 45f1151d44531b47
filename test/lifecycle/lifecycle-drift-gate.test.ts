// CI's drift gates, through Pulumi's dynamic-provider host: `pulumi preview --expect-no-changes` passes on
// an unchanged stack (every Diff says "none"), and `pulumi refresh --expect-no-changes` is the drift
// check (Verification's Read runs the checks: a dropped index changes its outputs). Verification runs
// again when the schema, its options or the connection change, and state written by release 2 is
// updated to today's stub and shape on the next up.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { STATE_VERSION } from "../../engine/providers/verification";
import { memoryProgram, startLifecycle, type Lifecycle, type ProgramResource } from "../support/lifecycle";
import { urnFor } from "../support/provider-host";
import { loadProvider } from "../support/schema-provider";
import { schemaDatabase, type SchemaDatabase } from "../support/schema-db";

const STUBS = JSON.parse(readFileSync(join(__dirname, "..", "fixtures", "provider-stubs.json"), "utf8")) as {
    release2: { verification: string };
};

let schema: SchemaDatabase;
let life: Lifecycle;
let program: ProgramResource[];

beforeAll(async () => {
    [schema, life] = await Promise.all([schemaDatabase("lifecycle_drift_gate", {}, false), startLifecycle()]);
    program = await memoryProgram({ connection: schema.db.settings, schema: schema.options });
    await life.up(program);
});

afterAll(async () => {
    await life?.host.stop();
    await schema?.drop();
});

describe("pulumi preview --expect-no-changes", () => {
    it("passes on an unchanged stack: neither resource diffs as a change, and verification does not run", async () => {
        const checkedAt = life.outputs("memory-verification").checkedAt;
        const steps = await life.up(await memoryProgram({ connection: schema.db.settings, schema: schema.options }));
        expect(steps).toEqual({ "memory-schema": "same", "memory-verification": "same" });
        expect(life.lastDiff("memory-verification")).toEqual({ changes: "none", replaces: [], deleteBeforeReplace: false });
        expect(life.outputs("memory-verification").checkedAt).toBe(checkedAt);
    });

    it("keeps what a refresh needs in the outputs, the connection as a secret", () => {
        const outputs = life.outputs("memory-verification");
        expect(outputs).toMatchObject({ stateVersion: STATE_VERSION, connection: schema.db.settings, problems: [] });
        expect(outputs.expected).toEqual(program[1].inputs.expected);
        expect(life.state.get("memory-verification")!.secretOutputs).toContain("connection");
    });

    type Inputs = Record<string, Record<string, unknown>>;
    it.each([
        [
            "the connection (a new password)",
            (inputs: Inputs) => ({ ...inputs, connection: { ...inputs.connection, password: "new-pw-123" } }),
        ],
        ["what the schema must hold (its options)", (inputs: Inputs) => ({ ...inputs, expected: { ...inputs.expected, rls: false } })],
        ["the schema's checksum", (inputs: Inputs) => ({ ...inputs, schemaChecksum: "another-checksum" })],
    ])("reports a change when %s changes, never a replacement", async (_what, change) => {
        const { id, urn, outputs, inputs } = life.state.get("memory-verification")!;

        expect(await life.host.diff(id, urn, outputs, change(inputs as Inputs))).toEqual({
            changes: "some",
            replaces: [],
            deleteBeforeReplace: false,
        });
    });
});

describe("pulumi refresh --expect-no-changes", () => {
    it("passes when nothing drifted: Read runs the checks and gives back the outputs unchanged", async () => {
        await schema.client.query("select 1");

        expect(await life.refresh()).toEqual({ "memory-schema": [], "memory-verification": [] });
    });

    it("fails on a dropped index: Verification's Read reports it in problems and counts", async () => {
        await schema.client.query("drop index idx_sessions_status");

        const changed = await life.refresh();

        expect(changed["memory-verification"]).toEqual(expect.arrayContaining(["counts", "problems", "checkedAt"]));
        expect(life.outputs("memory-verification").problems).toContain("index sessions.idx_sessions_status: missing");
        expect(life.outputs("memory-verification").counts).toMatchObject({ indexes: 48 });
    });

    it("makes the next up verify again, which passes once the schema is repaired, and the gate is green again", async () => {
        const steps = await life.up(program);

        expect(steps).toEqual({ "memory-schema": "update", "memory-verification": "update" });
        expect(life.outputs("memory-verification")).toMatchObject({ problems: [], counts: { indexes: 49 } });
        expect(await life.refresh()).toEqual({ "memory-schema": [], "memory-verification": [] });
        expect(await life.up(program)).toEqual({ "memory-schema": "same", "memory-verification": "same" });
    });
});

describe("verification state written by release 2", () => {
    it("refreshes through its old stub as unchanged, then updates to today's stub and shape on the next up", async () => {
        const current = life.state.get("memory-verification")!;
        const release2 = {
            stateVersion: 1,
            variant: current.outputs.variant,
            schemaChecksum: current.outputs.schemaChecksum,
            counts: current.outputs.counts,
            checksPassed: current.outputs.checksPassed,
            durationMs: 12,
            checkedAt: "2025-01-01T00:00:00.000Z",
            roundTrips: current.outputs.roundTrips,
            __provider: STUBS.release2.verification,
        };
        expect(Object.keys(loadProvider(STUBS.release2.verification)).sort()).toEqual(["create", "delete", "diff", "update"]);
        life.state.set("memory-verification", { ...current, urn: urnFor(program[1].type, "memory-verification"), outputs: release2 });

        expect((await life.refresh())["memory-verification"]).toEqual([]);

        expect(await life.up(program)).toEqual({ "memory-schema": "same", "memory-verification": "update" });
        const outputs = life.outputs("memory-verification");
        expect(outputs).toMatchObject({ stateVersion: STATE_VERSION, problems: [], connection: schema.db.settings });
        expect(outputs.__provider).toBe(program[1].inputs.__provider);
        expect(outputs.__provider).toContain("memory-stack/providers");
        expect(await life.up(program)).toEqual({ "memory-schema": "same", "memory-verification": "same" });
    });
});
