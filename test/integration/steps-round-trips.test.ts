// What a first apply's stepped migration (0014: derive_goals and derive_beliefs batched, with no rows to
// derive, then the transactional search step) costs on the migrating connection, in queries: each a
// round trip, since pg sends one at a time and waits for its answer. Each step's ledger write goes with
// its COMMIT, a batched step's guard with its first batch's begin, the socket check is set in each step's
// begin for that transaction alone (nothing to save or give back), and the records the search step writes
// go with its COMMIT. The batched steps find no row: their rows would go with the next step's write, and
// the last step's is the migration's own, so the step ledger is never created. On a server of its own: another test
// file's commit meanwhile would rightly cost the transactional step a check of its own (committed-since.test.ts).
import type { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { applyMigrations, readLedger } from "../../engine/migrate/index";
import { describeVariant } from "../../engine/migrate/plan";
import { readRecords } from "../../engine/migrate/ownership";
import { DEFAULT_OPTIONS, migrationsFor } from "../support/apply-sql";
import { freshDatabase, type TestDatabase } from "../support/database";
import { startEmbeddedPostgres, type RunningServer } from "../support/embedded-server";

let server: RunningServer;
let db: TestDatabase;
let client: Client;

beforeAll(async () => {
    server = await startEmbeddedPostgres({ flags: ["-c", "autovacuum=off"] });
    db = await freshDatabase("steps_round_trips", server);
    client = await db.connect();
}, 60_000);

afterAll(async () => {
    await db?.drop();
    await server?.stop();
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
    it("sends at most 9 queries for its three steps, creates no step ledger, and leaves it recorded", async () => {
        const sent = await queriesOf(STEPPED);

        // Per batched step 3 (begin with the guard, the batch, the ledger write with the commit); the search step 3 (begin
        // with the catalog read, its statements with the catalog after them, the records and the ledger with the commit).
        expect(sent.length, sent.join("\n---\n")).toBeLessThanOrEqual(9);
        expect(sent.filter((text) => /memory_stack\.migration_steps \(/.test(text))).toEqual([]);
        expect((await client.query("select to_regclass('memory_stack.migration_steps') as steps")).rows).toEqual([{ steps: null }]);
        // The statements' round trip reads client_encoding with the catalog after them (refused there when changed); the
        // records go in ASCII literals with the COMMIT.
        expect(sent[sent.length - 2]).toMatch(/current_setting\('client_encoding'\) as client_encoding/);
        const commit = sent[sent.length - 1];
        expect(commit).toMatch(/^delete from memory_stack\.created_objects[\s\S]*insert into memory_stack\.created_objects/);
        expect(commit).toMatch(/E'0014_similarity_jsonb_fast\.sql'[\s\S]*insert into memory_stack\.migrations[\s\S]*;\ncommit$/);
        expect((await readLedger(client)).map((row) => row.name)).toContain(STEPPED);
        const records = await readRecords(client);
        expect(records.filter((record) => record.migration === STEPPED).map((record) => record.identity)).toEqual([
            "function public.embedding_search(text,jsonb,int4,uuid,int4,bool)",
            "function public.match_goals(jsonb,int4,uuid,int4,bool)",
            "function public.match_beliefs(jsonb,int4,uuid,int4,bool)",
        ]);
        // 0014 replaced 0008's: their records went with them.
        expect(records.filter((record) => record.identity.startsWith("function public.match_goals("))).toHaveLength(1);
        // The session's socket check is as it was: set for each step's transaction alone.
        expect((await client.query("show client_connection_check_interval")).rows).toEqual([{ client_connection_check_interval: "0" }]);
    });
});
