import type { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expectedObjects, MEMORY_TABLES, USERS_MEMORY_COLUMNS } from "../../engine/migrate/manifest";
import { loadRollbackSql } from "../../engine/migrate/render";
import { applyMigrations, migrationsFor } from "../support/apply-sql";
import { readCatalog, sortedManifest } from "../support/catalog";
import { schemaDatabase, type SchemaDatabase } from "../support/schema-db";
import { APPLICATION_TABLES, createApplicationTables, fingerprint } from "../support/seed-application";

/** The definition of every application table: columns, constraints, indexes, triggers. */
async function definitions(c: Client): Promise<unknown[]> {
    return (
        await c.query(
            `
        select 'column' as kind, table_name as t, column_name || ' ' || data_type || ' ' || coalesce(column_default, '') || ' ' || is_nullable as d
        from information_schema.columns where table_schema = 'public' and table_name = any($1)
        union all select 'constraint', conrelid::regclass::text, conname || ' ' || pg_get_constraintdef(oid) from pg_constraint
        where conrelid = any(select oid from pg_class where relnamespace = 'public'::regnamespace and relname = any($1))
        union all select 'index', tablename, indexdef from pg_indexes where schemaname = 'public' and tablename = any($1)
        union all select 'trigger', tgrelid::regclass::text, tgname from pg_trigger
        where not tgisinternal and tgrelid = any(select oid from pg_class where relnamespace = 'public'::regnamespace and relname = any($1))
        order by 1, 2, 3`,
            [APPLICATION_TABLES],
        )
    ).rows;
}

describe("applying the schema to a database that holds the seed's application tables", () => {
    let s: SchemaDatabase;
    let c: Client;
    let rowsBefore: Record<string, string>;
    let definitionsBefore: unknown[];

    beforeAll(async () => {
        s = await schemaDatabase("schema_existing", { rls: true }, false);
        c = s.client;
        await createApplicationTables(c, { uuidOssp: true });
        rowsBefore = await fingerprint(c);
        definitionsBefore = await definitions(c);
        await applyMigrations(c, migrationsFor(s.options));
    });
    afterAll(async () => s?.drop());

    it("leaves every pre-existing row byte-for-byte unchanged", async () => {
        expect(rowsBefore.users).toMatch(/^10:/);
        expect(await fingerprint(c)).toEqual(rowsBefore);
    });

    it("only adds the memory columns to users and changes no other application table", async () => {
        const after = await definitions(c);
        const added = after.filter((d) => !definitionsBefore.some((b) => JSON.stringify(b) === JSON.stringify(d)));
        const removed = definitionsBefore.filter((b) => !after.some((d) => JSON.stringify(b) === JSON.stringify(d)));
        expect(removed).toEqual([]);
        expect(added.map((d) => (d as { d: string }).d.split(" ")[0]).sort()).toEqual([...USERS_MEMORY_COLUMNS].sort());
        expect(added.every((d) => (d as { t: string }).t === "users")).toBe(true);
    });

    it("adds the full memory schema beside the application's tables", async () => {
        const { publicTables, ...catalog } = await readCatalog(c, MEMORY_TABLES);
        expect(catalog).toEqual(sortedManifest(expectedObjects(s.options)));
        expect(publicTables).toEqual([...APPLICATION_TABLES, ...MEMORY_TABLES].sort());
    });

    it("records only the columns it added, not users or the existing uuid-ossp, as its own", async () => {
        const { rows } = await c.query(
            `select kind, name from memory_stack.owned_objects where kind in ('column', 'table', 'extension') order by name`,
        );
        expect(rows).toEqual(
            USERS_MEMORY_COLUMNS.map((col) => ({ kind: "column", name: `users.${col}` })).sort((x, y) => x.name.localeCompare(y.name)),
        );
    });

    it("applies again as a no-op (guarded DDL)", async () => {
        await applyMigrations(c, migrationsFor(s.options));
        expect(await fingerprint(c)).toEqual(rowsBefore);
        const { publicTables: _, ...catalog } = await readCatalog(c, MEMORY_TABLES);
        expect(catalog).toEqual(sortedManifest(expectedObjects(s.options)));
    });

    it("rolls back to exactly the application's database, and a second rollback is a no-op", async () => {
        for (let run = 1; run <= 2; run++) {
            await c.query("begin");
            await c.query(loadRollbackSql());
            await c.query("commit");
            expect(await fingerprint(c)).toEqual(rowsBefore);
            expect(await definitions(c)).toEqual(definitionsBefore);
            const catalog = await readCatalog(c, MEMORY_TABLES);
            expect(catalog.publicTables).toEqual([...APPLICATION_TABLES].sort());
            expect({ views: catalog.views, functions: catalog.functions, extensions: catalog.extensions }).toEqual({
                views: [],
                functions: [],
                extensions: ["uuid-ossp"],
            });
            const left = await c.query(
                `select
                to_regclass('memory_stack.owned_objects') as ledger, to_regnamespace('auth') as auth,
                (select count(*)::int from pg_roles where rolname in ($1, $2)) as roles`,
                [s.options.appRole, s.options.adminRole],
            );
            expect(left.rows[0]).toEqual({ ledger: null, auth: null, roles: 0 });
        }
    });
});

describe("a users table whose id is not uuid", () => {
    let s: SchemaDatabase;
    let c: Client;

    async function snapshot(): Promise<unknown> {
        return (
            await c.query(`
            select 'class' as k, n.nspname || '.' || c.relname as name from pg_class c join pg_namespace n on n.oid = c.relnamespace
            where n.nspname not in ('pg_catalog', 'information_schema', 'pg_toast')
            union all select 'extension', extname from pg_extension
            union all select 'schema', nspname from pg_namespace
            union all select 'function', oid::regprocedure::text from pg_proc where pronamespace <> 'pg_catalog'::regnamespace
              and pronamespace <> 'information_schema'::regnamespace
            union all select 'row', u::text from users u
            order by 1, 2`)
        ).rows;
    }

    beforeAll(async () => {
        s = await schemaDatabase("schema_serial_users", { rls: true }, false);
        c = s.client;
        await c.query(
            `create table users (id serial primary key, email text); insert into users (email) values ('a@example.com'), ('b@example.com')`,
        );
    });
    afterAll(async () => s?.drop());

    it("is refused with a clear error by the first migration, and nothing changes", async () => {
        const before = await snapshot();
        const error = await applyMigrations(c, migrationsFor(s.options)).catch((e) => e);
        expect(error).toMatchObject({
            code: "42804",
            message: expect.stringMatching(
                /^0001_foundation\.sql: public\.users\.id is integer, but the memory tables need users\.id of type uuid; nothing was changed/,
            ),
        });
        expect(await snapshot()).toEqual(before);
        expect((await c.query(`select count(*)::int as n from pg_roles where rolname = $1`, [s.options.appRole])).rows[0].n).toBe(0);
    });

    it("refuses a uuid id that nothing can reference (no primary key or unique index) the same way", async () => {
        await c.query(`create schema other; alter table users set schema other; create table users (id uuid, email text)`);
        const before = await snapshot();
        const error = await applyMigrations(c, migrationsFor(s.options)).catch((e) => e);
        expect(error.message).toMatch(/^0001_foundation\.sql: public\.users\.id is neither a primary key nor unique/);
        expect(await snapshot()).toEqual(before);
    });
});
