import { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expectedObjects, MEMORY_TABLES } from "../../engine/migrate/manifest";
import { loadRollbackSql } from "../../engine/migrate/render";
import { readCatalog, sortedManifest } from "../support/catalog";
import { applyMigrations, DEFAULT_OPTIONS, migrationsFor } from "../support/apply-sql";
import { startPgliteServer, type PgliteServer } from "../support/pglite-server";
import { schemaDatabase, type SchemaDatabase } from "../support/schema-db";

describe.each([
    { variant: "jsonb with rls", rls: true },
    { variant: "jsonb without rls", rls: false },
])("the $variant schema applied to a fresh PostgreSQL 15 database", ({ rls }) => {
    let s: SchemaDatabase;
    beforeAll(async () => {
        s = await schemaDatabase("schema_objects", { rls });
    });
    afterAll(async () => s?.drop());

    it("holds exactly the objects of the manifest, nothing missing and nothing extra", async () => {
        const { publicTables: _, ...catalog } = await readCatalog(s.client, MEMORY_TABLES);
        expect(catalog).toEqual(sortedManifest(expectedObjects(s.options)));
    });

    it("has exactly 49 indexes on the seven tables", async () => {
        expect(expectedObjects(s.options).indexes).toHaveLength(49);
        const { indexes } = await readCatalog(s.client, MEMORY_TABLES);
        expect(indexes).toHaveLength(49);
    });

    it("creates a minimal users table on a fresh database and no other table", async () => {
        const { publicTables } = await readCatalog(s.client, MEMORY_TABLES);
        expect(publicTables).toEqual([...MEMORY_TABLES, "users"].sort());
        const { rows } = await s.client.query(`
            select column_name from information_schema.columns where table_schema = 'public' and table_name = 'users' order by ordinal_position`);
        expect(rows.map((r) => r.column_name)).toEqual([
            "id",
            "email",
            "display_name",
            "memory_preferences",
            "memory_enabled",
            "last_memory_activity_at",
            "created_at",
            "updated_at",
        ]);
    });

    it("records what it created in memory_stack.owned_objects", async () => {
        const { rows } = await s.client.query(`select kind, name from memory_stack.owned_objects order by kind, name`);
        const roles = rls
            ? [
                  { kind: "role", name: s.options.adminRole },
                  { kind: "role", name: s.options.appRole },
              ]
            : [];
        const auth = rls ? [{ kind: "function", name: "auth.uid" }] : [];
        expect(rows).toEqual([
            { kind: "extension", name: "uuid-ossp" },
            ...auth,
            ...roles.sort((a, b) => a.name.localeCompare(b.name)),
            ...(rls ? [{ kind: "schema", name: "auth" }] : []),
            { kind: "table", name: "users" },
        ]);
    });
});

describe.each([{ vectorIndex: "hnsw" as const }, { vectorIndex: "ivfflat" as const }])(
    "the vector schema ($vectorIndex) applied to PGlite with pgvector",
    ({ vectorIndex }) => {
        let server: PgliteServer;
        let client: Client;
        const options = { ...DEFAULT_OPTIONS, vector: true, vectorIndex };
        beforeAll(async () => {
            server = await startPgliteServer();
            client = new Client(server);
            await client.connect();
            await applyMigrations(client, migrationsFor(options));
        });
        afterAll(async () => {
            await client?.end();
            await server?.stop();
        });

        it("holds exactly the objects of the manifest, with one ANN index per embedding column", async () => {
            const { publicTables: _, ...catalog } = await readCatalog(client, MEMORY_TABLES);
            expect(catalog).toEqual(sortedManifest(expectedObjects(options)));
            expect(catalog.indexes).toHaveLength(51);
        });

        it(`stores embeddings as vector(3) indexed with ${vectorIndex} and cosine distance`, async () => {
            const { rows } = await client.query(`
            select c.relname as table, a.attname as column, format_type(a.atttypid, a.atttypmod) as type
            from pg_attribute a join pg_class c on c.oid = a.attrelid
            where c.relname in ('goal_assessments', 'belief_graphs') and a.attname in ('goal_vector', 'belief_vector') order by 1`);
            expect(rows).toEqual([
                { table: "belief_graphs", column: "belief_vector", type: "vector(3)" },
                { table: "goal_assessments", column: "goal_vector", type: "vector(3)" },
            ]);
            const defs = await client.query(
                `select indexdef from pg_indexes where indexname in ('idx_goal_assessments_goal_vector', 'idx_belief_graphs_belief_vector')`,
            );
            expect(defs.rows).toHaveLength(2);
            for (const { indexdef } of defs.rows)
                expect(indexdef).toMatch(new RegExp(`using ${vectorIndex} \\(\\w+ vector_cosine_ops\\)`, "i"));
        });

        it("rolls back to an empty database, vector extension included", async () => {
            await client.query(loadRollbackSql());
            const { rows } = await client.query(`select
            (select count(*)::int from pg_class where relnamespace = 'public'::regnamespace) as public_relations,
            (select string_agg(extname, ',') from pg_extension) as extensions,
            to_regclass('memory_stack.owned_objects') is not null as ledger`);
            expect(rows[0]).toEqual({ public_relations: 0, extensions: "plpgsql", ledger: false });
        });
    },
);

describe("rolling back a fresh database", () => {
    let s: SchemaDatabase;
    beforeAll(async () => {
        s = await schemaDatabase("schema_rollback", { rls: true });
    });
    afterAll(async () => s?.drop());

    const leftovers = async () =>
        (
            await s.client.query(
                `select
        (select count(*)::int from pg_class where relnamespace = 'public'::regnamespace) as public_relations,
        (select count(*)::int from pg_proc p where pronamespace = 'public'::regnamespace
            and not exists (select from pg_depend d where d.objid = p.oid and d.deptype = 'e')) as public_functions,
        (select count(*)::int from pg_extension where extname <> 'plpgsql') as extensions,
        (select count(*)::int from pg_roles where rolname in ($1, $2)) as roles,
        to_regnamespace('auth') is not null as auth,
        to_regclass('memory_stack.owned_objects') is not null as ledger`,
                [s.options.appRole, s.options.adminRole],
            )
        ).rows[0];

    it("keeps uuid-ossp when something else uses it now, and says so", async () => {
        await s.client.query(`create table public.app_things (id uuid default uuid_generate_v4())`);
        const notices: string[] = [];
        const listener = (n: { message?: string }) => notices.push(n.message ?? "");
        s.client.on("notice", listener);
        try {
            await s.client.query(loadRollbackSql());
        } finally {
            s.client.off("notice", listener);
        }
        expect(notices).toContain(`kept extension "uuid-ossp": other objects depend on it now`);
        expect(await leftovers()).toEqual({
            public_relations: 1,
            public_functions: 0,
            extensions: 1,
            roles: 0,
            auth: false,
            ledger: false,
        });
        await s.client.query(`drop table public.app_things; drop extension "uuid-ossp"`);
    });

    it("removes everything it created, users, auth and roles included, once re-applied and rolled back twice", async () => {
        await applyMigrations(s.client, migrationsFor(s.options));
        for (let run = 1; run <= 2; run++) {
            await s.client.query(loadRollbackSql());
            expect(await leftovers()).toEqual({
                public_relations: 0,
                public_functions: 0,
                extensions: 0,
                roles: 0,
                auth: false,
                ledger: false,
            });
        }
    });
});
