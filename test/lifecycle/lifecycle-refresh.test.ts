// `pulumi refresh` through Pulumi's dynamic-provider host: the schema's Read reports drift (objects
// dropped by hand, a ledger row deleted) in its outputs, and the next `up` repairs it — re-running
// only the applied migrations that create what is missing — or, where no migration re-creates the
// object, fails naming it. Without a refresh the no-op up does not look (neither resource diffs as a
// change): refresh is the drift gate, and Verification's Read reports the drift as well.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readLedger, readRecords } from "../../engine/migrate/index";
import { memoryProgram, startLifecycle, type Lifecycle, type ProgramResource } from "../support/lifecycle";
import { schemaDatabase, type SchemaDatabase } from "../support/schema-db";

let schema: SchemaDatabase;
let life: Lifecycle;
let program: ProgramResource[];

beforeAll(async () => {
    [schema, life] = await Promise.all([schemaDatabase("lifecycle_refresh", {}, false), startLifecycle()]);
    program = await memoryProgram({ connection: schema.db.settings, schema: schema.options });
    await life.up(program);
});

afterAll(async () => {
    await life?.host.stop();
    await schema?.drop();
});

describe("refresh and the up after it", () => {
    it("reports nothing when nothing drifted, and the next up leaves the schema alone", async () => {
        expect(await life.refresh()).toEqual({ "memory-schema": [], "memory-verification": [] });
        expect(await life.up(program)).toEqual({ "memory-schema": "same", "memory-verification": "same" });
    });

    it("knows from the ownership records which migration created each object", async () => {
        const creator = new Map((await readRecords(schema.client)).map((record) => [record.identity, record.migration]));
        expect(creator.get("index public.idx_sessions_status")).toBe("0004_indexes.sql");
        expect(creator.get("view public.user_session_stats")).toBe("0006_views.sql");
        expect(creator.get("trigger public.sessions.update_sessions_updated_at")).toBe("0005_functions_triggers.sql");
        expect(creator.get("policy public.sessions.sessions_own_rows")).toBe("0009_rls.sql");
        expect(creator.get("function public.match_goals(jsonb,int4,uuid,int4,bool)")).toBe("0014_similarity_jsonb_fast.sql");
        expect(creator.get("function auth.uid()")).toBe("0009_rls.sql");
        expect(creator.get('extension "uuid-ossp"')).toBe("0001_foundation.sql");
        expect(creator.get("table public.sessions")).toBe("0003_tables.sql");
        expect(creator.get("index public.sessions_pkey")).toBe("0003_tables.sql");
    });

    it("without a refresh, does not look: the up is a no-op and leaves the drift for refresh to find", async () => {
        await schema.client.query("drop index idx_sessions_status; drop view user_session_stats");

        expect(await life.up(program)).toEqual({ "memory-schema": "same", "memory-verification": "same" });
        expect(life.lastDiff("memory-schema")).toMatchObject({ changes: "none" });
    });

    it("reports the dropped objects as missing on refresh, and the next up re-creates them with the ledger unchanged", async () => {
        const ledgerBefore = await readLedger(schema.client);

        const changed = await life.refresh();

        expect(changed["memory-schema"]).toEqual(["missing"]);
        expect(changed["memory-verification"]).toContain("problems");
        expect(life.outputs("memory-schema").missing).toEqual(["index public.idx_sessions_status", "view public.user_session_stats"]);
        expect(life.outputs("memory-verification").problems).toEqual(
            expect.arrayContaining(["index sessions.idx_sessions_status: missing", "view user_session_stats: missing"]),
        );

        const steps = await life.up(program);

        expect(steps).toEqual({ "memory-schema": "update", "memory-verification": "update" });
        expect(life.lastDiff("memory-schema")).toMatchObject({ changes: "some", replaces: [] });
        expect(life.outputs("memory-schema").missing).toEqual([]);
        const { rows } = await schema.client.query(
            "select to_regclass('public.idx_sessions_status') as index, to_regclass('public.user_session_stats') as view",
        );
        expect(rows[0]).toEqual({ index: "idx_sessions_status", view: "user_session_stats" });
        expect(await readLedger(schema.client)).toEqual(ledgerBefore);
        expect(await life.refresh()).toEqual({ "memory-schema": [], "memory-verification": [] });
    });

    it("reports a ledger row deleted by hand, and the next up applies that migration again", async () => {
        await schema.client.query("delete from memory_stack.migrations where name = '0007_maintenance.sql'");

        const changed = await life.refresh();

        expect(changed["memory-schema"]).toEqual(["appliedMigrations", "checksum"]);
        expect(life.outputs("memory-schema").appliedMigrations).not.toContain("0007_maintenance.sql");
        // Every object is still there: Verification's refresh found nothing, so it does not run again.
        expect(await life.up(program)).toEqual({ "memory-schema": "update", "memory-verification": "same" });
        expect((await readLedger(schema.client)).map((row) => row.name)).toContain("0007_maintenance.sql");
        expect(await life.refresh()).toEqual({ "memory-schema": [], "memory-verification": [] });
    });

    it("fails the next up naming what no migration re-creates, and keeps reporting it", async () => {
        await schema.client.query("alter table audit_logs drop constraint audit_logs_pkey");
        await life.refresh();
        const before = life.outputs("memory-schema");

        const up = life.up(program);

        await expect(up).rejects.toThrow(
            /the memory schema drifted and could not be repaired: index public\.audit_logs_pkey still missing after re-running 0003_tables\.sql, 0004_indexes\.sql, .*; no migration re-creates it\. Re-create what is missing by hand/,
        );
        expect(life.outputs("memory-schema")).toBe(before);
        expect(before.missing).toEqual(["index public.audit_logs_pkey"]);
    });
});
