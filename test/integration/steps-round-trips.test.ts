// What a first apply's stepped migration (0014: derive_goals and derive_beliefs batched, with no rows to
// derive, then the transactional search step) costs on the migrating connection, in queries: each a
// round trip, since pg sends one at a time and waits for its answer. The step ledger is created in the
// first step's begin, each step's ledger write goes with its COMMIT, a batched step's guard with its
// first batch's begin, and the session settings are read and set in one statement.
import type { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { applyMigrations, readLedger } from "../../engine/migrate/index";
import { describeVariant } from "../../engine/migrate/plan";
import { readStepLedger } from "../../engine/migrate/step-ledger";
import { DEFAULT_OPTIONS, migrationsFor } from "../support/apply-sql";
import { dropRoles, freshDatabase, type TestDatabase } from "../support/database";

let db: TestDatabase;
let client: Client;

beforeAll(async () => {
    db = await freshDatabase("steps_round_trips");
    client = await db.connect();
});

afterAll(async () => {
    await db?.drop();
    await dropRoles(db.server, [DEFAULT_OPTIONS.appRole, DEFAULT_OPTIONS.adminRole]);
});

const STEPPED = "0014_similarity_jsonb_fast.sql";

/** The queries the migrating connection sends while `name` is under way: after the migration before it committed. */
async function queriesOf(name: string): Promise<string[]> {
    const migrations = migrationsFor();
    const before = migrations[migrations.findIndex((m) => m.name === name) - 1].name;
    const sent: string[] = [];
    let counting = false;
    const query = client.query;
    client.query = ((...args: unknown[]) => {
        if (counting) sent.push(typeof args[0] === "string" ? args[0] : (args[0] as { text: string }).text);
        return (query as (...a: unknown[]) => unknown).apply(client, args);
    }) as typeof client.query;
    try {
        await applyMigrations(client, migrations, {
            variant: describeVariant(DEFAULT_OPTIONS),
            schema: DEFAULT_OPTIONS,
            onProgress: (progress) => {
                counting = progress.name === before;
            },
        });
    } finally {
        client.query = query;
    }
    return sent;
}

describe("a first apply's stepped migration", () => {
    it("sends at most 13 queries for its three steps, the step ledger's creation included, and leaves it recorded", async () => {
        const sent = await queriesOf(STEPPED);

        // 1 settings; per batched step 3 (begin with the guard, the batch, the ledger write with the commit); the search
        // step 5 (begin with the catalog read, its statements, two for the records, the ledger with the commit); 1 restore.
        expect(sent.length, sent.join("\n---\n")).toBeLessThanOrEqual(13);
        expect(sent.filter((text) => /create table if not exists memory_stack\.migration_steps/.test(text))).toHaveLength(1);
        expect((await readLedger(client)).map((row) => row.name)).toContain(STEPPED);
        expect(await readStepLedger(client)).toEqual([]);
    });
});
