// `pulumi refresh` through Pulumi's dynamic-provider host: the schema's Read reports drift (objects
// dropped by hand, a ledger row deleted) in its outputs, and the next `up` repairs it — re-running
// only the applied migrations that create what is missing — or, where no migration re-creates the
// object, fails naming it. Without a refresh the no-op up does not look, and verification fails it.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readLedger } from "../../engine/migrate/index";
import { loadMigrationSources, renderMigrations } from "../../engine/migrate/render";
import { creatingMigration } from "../../engine/migrate/repair";
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
        expect(await life.up(program)).toEqual({ "memory-schema": "same", "memory-verification": "update" });
    });

    it("knows which migration creates each object, and that none re-creates a primary key", () => {
        const migrations = renderMigrations(loadMigrationSources(), { ...schema.options, vector: true });
        const creator = (object: string) => creatingMigration(object, migrations)?.name;
        expect(creator("index idx_sessions_status")).toBe("0004_indexes.sql");
        expect(creator("view user_session_stats")).toBe("0006_views.sql");
        expect(creator("trigger sessions.update_sessions_updated_at")).toBe("0005_functions_triggers.sql");
        expect(creator("policy sessions.sessions_own_rows")).toBe("0009_rls.sql");
        expect(
            creator(
                "function public.match_goals(query_embedding vector, match_count integer, filter_user_id uuid, candidates integer, exact boolean)",
            ),
        ).toBe("0017_similarity_vector.sql");
        expect(creator("function auth.uid()")).toBe("0009_rls.sql");
        expect(creator("extension uuid-ossp")).toBe("0001_foundation.sql");
        expect(creator("table sessions")).toBe("0003_tables.sql");
        expect(creator("index sessions_pkey")).toBeUndefined();
    });

    it("without a refresh, keeps the schema as it is and fails the up in verification, naming the dropped objects", async () => {
        await schema.client.query("drop index idx_sessions_status; drop view user_session_stats");

        const up = life.up(program);

        await expect(up).rejects.toThrow("index sessions.idx_sessions_status: missing");
        await expect(up).rejects.toThrow("view user_session_stats: missing");
        expect(life.lastDiff("memory-schema")).toMatchObject({ changes: "none" });
    });

    it("reports the dropped objects as missing on refresh, and the next up re-creates them with the ledger unchanged", async () => {
        const ledgerBefore = await readLedger(schema.client);

        const changed = await life.refresh();

        expect(changed).toEqual({ "memory-schema": ["missing"], "memory-verification": [] });
        expect(life.outputs("memory-schema").missing).toEqual(["index idx_sessions_status", "view user_session_stats"]);

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
        expect(await life.up(program)).toEqual({ "memory-schema": "update", "memory-verification": "update" });
        expect((await readLedger(schema.client)).map((row) => row.name)).toContain("0007_maintenance.sql");
        expect(await life.refresh()).toEqual({ "memory-schema": [], "memory-verification": [] });
    });

    it("fails the next up naming what no migration re-creates, and keeps reporting it", async () => {
        await schema.client.query("alter table audit_logs drop constraint audit_logs_pkey");
        await life.refresh();
        const before = life.outputs("memory-schema");

        const up = life.up(program);

        await expect(up).rejects.toThrow(
            /the memory schema drifted and could not be repaired: index audit_logs_pkey still missing; no migration re-creates it\. Re-create what is missing by hand/,
        );
        expect(life.outputs("memory-schema")).toBe(before);
        expect(before.missing).toEqual(["index audit_logs_pkey"]);
    });
});
