// Reads from the catalog what the memory schema is made of, in the manifest's shape, so a test
// can compare it with expectedObjects() both ways (nothing missing, nothing extra).
import type { Client } from "pg";
import type { SchemaManifest } from "../../engine/migrate/manifest";

export interface CatalogObjects extends SchemaManifest {
    /** Every ordinary table in schema public (the manifest's 7 plus users and application tables). */
    publicTables: string[];
}

const byName = (a: string, b: string) => a.localeCompare(b);
const byTableName = (a: { table: string; name: string }, b: { table: string; name: string }) =>
    a.table.localeCompare(b.table) || a.name.localeCompare(b.name);

export async function readCatalog(client: Client, memoryTables: readonly string[]): Promise<CatalogObjects> {
    const q = async <T>(sql: string, params: unknown[] = []) => (await client.query(sql, params)).rows as T[];
    const extensions = await q<{ name: string }>(`select extname as name from pg_extension where extname <> 'plpgsql'`);
    const tables = await q<{ name: string; rls: boolean }>(`
        select c.relname as name, c.relrowsecurity as rls from pg_class c
        where c.relnamespace = 'public'::regnamespace and c.relkind in ('r', 'p')`);
    const views = await q<{ name: string }>(`
        select c.relname as name from pg_class c where c.relnamespace = 'public'::regnamespace and c.relkind in ('v', 'm')`);
    const functions = await q<{ name: string }>(`
        select n.nspname || '.' || p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')' as name
        from pg_proc p join pg_namespace n on n.oid = p.pronamespace
        where n.nspname in ('public', 'auth', 'memory_stack')
          and not exists (select from pg_depend d where d.classid = 'pg_proc'::regclass and d.objid = p.oid and d.deptype = 'e')`);
    const triggers = await q<{ table: string; name: string }>(`
        select c.relname as table, t.tgname as name from pg_trigger t join pg_class c on c.oid = t.tgrelid
        where c.relnamespace = 'public'::regnamespace and not t.tgisinternal`);
    const indexes = await q<{ table: string; name: string }>(
        `
        select t.relname as table, i.relname as name from pg_index x
        join pg_class i on i.oid = x.indexrelid join pg_class t on t.oid = x.indrelid
        where t.relnamespace = 'public'::regnamespace and t.relname = any($1)`,
        [memoryTables],
    );
    const policies = await q<{ table: string; name: string }>(`
        select tablename as table, policyname as name from pg_policies where schemaname = 'public'`);
    const publicTables = tables.map((t) => t.name).sort(byName);
    return {
        extensions: extensions.map((e) => e.name).sort(byName),
        tables: publicTables.filter((t) => memoryTables.includes(t)),
        publicTables,
        views: views.map((v) => v.name).sort(byName),
        functions: functions.map((f) => f.name).sort(byName),
        triggers: triggers.sort(byTableName),
        indexes: indexes.sort(byTableName),
        policies: policies.sort(byTableName),
        rlsTables: tables
            .filter((t) => t.rls)
            .map((t) => t.name)
            .sort(byName),
    };
}

/** The manifest with every list sorted the way readCatalog sorts, for toEqual. */
export function sortedManifest(manifest: SchemaManifest): SchemaManifest {
    return {
        extensions: [...manifest.extensions].sort(byName),
        tables: [...manifest.tables].sort(byName),
        views: [...manifest.views].sort(byName),
        functions: [...manifest.functions].sort(byName),
        triggers: [...manifest.triggers].sort(byTableName),
        indexes: [...manifest.indexes].sort(byTableName),
        policies: [...manifest.policies].sort(byTableName),
        rlsTables: [...manifest.rlsTables].sort(byName),
    };
}
