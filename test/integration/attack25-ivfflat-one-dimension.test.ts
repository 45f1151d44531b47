// pgvector's ivfflat index over cosine distance refuses vector(1) ("dimensions must be greater than one for this
// opclass"), and the config and the CLI allowed vectorDimensions 1 with vectorIndex ivfflat: the apply failed at
// 0015's index step, after the precheck, the expand and the backfill had committed, leaving a switch that could not be
// finished with those options, nor changed to others while under way; only a rollback was left (which drops the rows).
// Refused before anything changes; a database an earlier release left that way still rolls back.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Client } from "pg";
import { cli } from "../support/cli";
import { apply, jsonb, start, switchTraces, urlOf, vector } from "../support/vector-switch";
import type { PgliteServer } from "../support/pglite-server";

const roles = ["--app-role", jsonb.appRole, "--admin-role", jsonb.adminRole];
let server: PgliteServer;

beforeAll(async () => {
    const started = await start();
    server = started.server;
    await started.client.end(); // PGlite: one session at a time
}, 60_000);

afterAll(async () => {
    await server?.stop();
});

describe("the vector variant with one dimension and an ivfflat index", () => {
    it("is refused by the CLI before it connects, naming the flag", async () => {
        const url = urlOf(server);
        const result = await cli(["apply", "--url", url, "--vector", "--dimensions", "1", "--index", "ivfflat", ...roles]);
        const status = await cli(["status", "--url", url]);

        expect(result.code).toBe(2);
        expect(result.stderr).toContain(
            "memory-stack: --dimensions 1: pgvector's ivfflat index needs at least 2 dimensions for cosine distance; use --index hnsw",
        );
        expect(status.stdout).toContain("  pending  0001_foundation.sql\n");
        expect(status.stdout).not.toContain("partly");
    });

    it("left mid-switch by an earlier release, still shows its status and rolls back", async () => {
        const client = new Client(server);
        await client.connect();
        const error = await apply(client, { ...vector, vectorDimensions: 1, vectorIndex: "ivfflat" }).catch((e: unknown) => e);
        await client.end();
        expect((error as Error).message).toContain("dimensions must be greater than one for this opclass");

        const url = urlOf(server);
        const status = await cli(["status", "--url", url]);
        const rollback = await cli(["rollback", "--url", url]);

        expect(status.stdout).toContain("  pending  0015_vector_expand.sql, partly applied: precheck, expand, ");
        expect(rollback.code, rollback.stderr).toBe(0);
        const after = new Client(server);
        await after.connect();
        expect(await switchTraces(after)).toMatchObject({ twins: 0, triggers: 0, helpers: 0, match_goals: 0 });
        await after.end();
    });
});
