// The stack's pgvector search settings (config vectorEfSearch / vectorProbes) on the database:
// set and recorded, reset when the key goes, reset by the rollback; nothing sent when none is given.
import { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { describeVariant, rollbackSchema } from "../../engine/migrate/index";
import { applyMigrations } from "../../engine/migrate/apply";
import { loadRollbackSql } from "../../engine/migrate/render";
import { applySearchSettings } from "../../engine/migrate/search-settings";
import { DEFAULT_OPTIONS, migrationsFor } from "../support/apply-sql";
import { startPgliteServer, type PgliteServer } from "../support/pglite-server";
import { schemaDatabase, type SchemaDatabase } from "../support/schema-db";

const options = { ...DEFAULT_OPTIONS, rls: false, vector: true };

/** What the database gives every new session, and what memory_stack owns of it. */
async function databaseSettings(c: Client): Promise<{ settings: string[]; owned: string[] }> {
    const { rows } = await c.query(`select
        coalesce((select setconfig from pg_db_role_setting s join pg_database d on d.oid = s.setdatabase
                  where d.datname = current_database() and s.setrole = 0), '{}') as settings,
        to_regclass('memory_stack.search_settings') is not null as recorded`);
    const owned = rows[0].recorded
        ? (await c.query(`select name from memory_stack.search_settings order by name`)).rows.map((row) => row.name)
        : [];
    return { settings: rows[0].settings, owned };
}

describe("the stack's search settings on a vector database", () => {
    let server: PgliteServer;
    let c: Client;

    beforeAll(async () => {
        server = await startPgliteServer();
        c = new Client(server);
        await c.connect();
        await applyMigrations(c, migrationsFor(options), { variant: describeVariant(options) });
    }, 120_000);
    afterAll(async () => {
        await c?.end();
        await server?.stop();
    });

    it("sets hnsw.ef_search for new sessions and records it as the stack's", async () => {
        await applySearchSettings(c, { hnswEfSearch: 120 });
        expect(await databaseSettings(c)).toEqual({ settings: ["hnsw.ef_search=120"], owned: ["hnsw.ef_search"] });
    });

    it("changes it, and resets it when the key goes", async () => {
        await applyMigrations(c, migrationsFor(options), {
            variant: describeVariant(options),
            searchSettings: { hnswEfSearch: 64, ivfflatProbes: 8 },
        });
        expect(await databaseSettings(c)).toEqual({
            settings: ["hnsw.ef_search=64", "ivfflat.probes=8"],
            owned: ["hnsw.ef_search", "ivfflat.probes"],
        });
        await applySearchSettings(c, { ivfflatProbes: 8 });
        expect(await databaseSettings(c)).toEqual({ settings: ["ivfflat.probes=8"], owned: ["ivfflat.probes"] });
    });

    it("is reset by the rollback", async () => {
        await rollbackSchema(c, { rollbackSql: loadRollbackSql(), allowDataLoss: true, defaults: options });
        expect(await databaseSettings(c)).toEqual({ settings: [], owned: [] });
    });
});

describe("a stack that sets none", () => {
    let schema: SchemaDatabase;

    beforeAll(async () => {
        schema = await schemaDatabase("similarity_settings", { rls: false });
    });
    afterAll(async () => schema?.drop());

    it("sends nothing that needs pgvector, on a jsonb database without it", async () => {
        await applySearchSettings(schema.client, {});
        expect(await databaseSettings(schema.client)).toEqual({ settings: [], owned: [] });
    });

    it("names the key when pgvector is not there to take it", async () => {
        await expect(applySearchSettings(schema.client, { hnswEfSearch: 100 })).rejects.toThrow(
            /vectorEfSearch and vectorProbes are pgvector settings, but pgvector is not usable here: .*type "vector" does not exist/,
        );
    });
});
