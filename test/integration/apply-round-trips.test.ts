// The round trips of an apply around its migrations, counted on the migrating connection: a first apply of
// the whole schema, as `memory-stack apply` runs it (preflight and grants included), takes the lock with the
// engine's search_path, reads the ledgers (asking whether the records' table exists with them) and runs the
// preflight's reads in three before its first migration's begin. That migration creates the ledger with its
// begin, asking there what the catalog read is prepared for and where oids mean something; prepares the read
// with its first run; runs its file with the read after it; commits: four. After its last migration it reads
// the grant facts with the reused records, sends the grants with their begin, commits, and flushes then
// unlocks: four more. Each one saved was a statement
// sent on its own (docs/cli-start.md). Counted, not timed: the time is the bench's (`npm run bench -- --only cli`).
import type { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { applyMigrations, describeVariant } from "../../engine/migrate/index";
import { DEFAULT_OPTIONS, migrationsFor } from "../support/apply-sql";
import { migration } from "../support/migrations";
import { dropRoles, freshDatabase, sharedServer, type TestDatabase } from "../support/database";
import { startEmbeddedPostgres } from "../support/embedded-server";

let db: TestDatabase;

beforeAll(async () => {
    db = await freshDatabase("round_trips");
});

afterAll(async () => {
    await db?.drop();
    await dropRoles(sharedServer(), [DEFAULT_OPTIONS.appRole, DEFAULT_OPTIONS.adminRole]);
});

/** `client`, with the text of every query it sends appended to `sent`. */
function counting(client: Client, sent: string[]): Client {
    const query = client.query.bind(client) as (...args: unknown[]) => unknown;
    client.query = ((...args: unknown[]) => {
        const text = args[0] as string | { text: string };
        sent.push(typeof text === "string" ? text : text.text);
        return query(...args);
    }) as Client["query"];
    return client;
}

const firstLine = (text: string) => text.trim().split("\n", 1)[0];

describe("a first apply of the schema", () => {
    it("takes three round trips before its first migration, four for it and four after its last", async () => {
        const sent: string[] = [];
        const migrations = migrationsFor();
        let afterFirst = -1;
        let afterLast = -1;
        const result = await applyMigrations(counting(await db.connect(), sent), migrations, {
            variant: describeVariant(DEFAULT_OPTIONS),
            schema: DEFAULT_OPTIONS,
            grantRoles: true,
            connect: () => db.connect(),
            onProgress: ({ index, total }) => {
                if (index === 1) {
                    afterFirst = sent.length;
                }
                if (index === total) {
                    afterLast = sent.length;
                }
            },
        });
        expect(result.applied.map((migration) => migration.name)).toEqual(migrations.map((migration) => migration.name));
        expect(result.grants.length).toBeGreaterThan(0);
        const firstBegin = sent.findIndex((text) => /^begin\b[^;]*; set local lock_timeout/.test(text));
        expect(firstBegin).toBeGreaterThan(0);
        // Fails (11 before, 7 for the first, 7 after) when the lock, its search_path, the records' table and each preflight
        // read go on their own, the catalog's shape, its prepare and the origin each take a round trip, and the grant
        // facts, the reused records, the grants, the flush and the unlock do too.
        expect(sent.slice(0, firstBegin).map(firstLine)).toHaveLength(3);
        expect(sent.slice(firstBegin, afterFirst).map(firstLine)).toHaveLength(4);
        expect(sent.slice(afterLast).map(firstLine)).toHaveLength(4);
    });
});

describe("a plain migration after another of the same run", () => {
    it("takes two round trips: its begin with the check and its statements, then its commit with its records", async () => {
        const sent: string[] = [];
        const done: number[] = [];
        const files = ["a", "b", "c"].map((name, index) =>
            migration(`000${index + 1}_${name}.sql`, `create table public.trips_${name} (id int);\n`),
        );
        // On a server of its own: another test file's commit meanwhile would rightly cost a check of its own (committed-since.test.ts).
        const server = await startEmbeddedPostgres({ flags: ["-c", "autovacuum=off"] });
        const own = await freshDatabase("round_trips_plain", server);
        const client = await own.connect();
        try {
            await applyMigrations(counting(client, sent), files, {
                variant: "jsonb",
                connect: () => own.connect(),
                onProgress: () => done.push(sent.length),
            });
        } finally {
            await client.end();
            await own.drop();
            await server.stop();
        }
        // Fails (3 each) when the begin and its check go in a round trip of their own.
        expect(done[1] - done[0]).toBe(2);
        expect(done[2] - done[1]).toBe(2);
    }, 60_000);
});
