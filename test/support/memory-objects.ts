// Which objects of the schema manifest exist in a database: to prove that a rollback left none behind.
import type { Client } from "pg";
import { expectedObjects, USERS_MEMORY_COLUMNS } from "../../engine/migrate/manifest";
import type { SchemaOptions } from "../../engine/migrate/render";

export async function remainingMemoryObjects(client: Client, options: SchemaOptions): Promise<string[]> {
    const manifest = expectedObjects(options);
    const result = await client.query<{ found: string }>(
        `select 'table ' || name as found from unnest($1::text[]) name where to_regclass(format('public.%I', name)) is not null
         union all select 'view ' || name from unnest($2::text[]) name where to_regclass(format('public.%I', name)) is not null
         union all select 'index ' || name from unnest($3::text[]) name where to_regclass(format('public.%I', name)) is not null
         union all select 'function ' || f from pg_proc p join pg_namespace n on n.oid = p.pronamespace,
                   lateral (select n.nspname || '.' || p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')' as f) x
                   where f = any($4::text[])
         union all select 'extension ' || extname from pg_extension where extname = any($5::text[])
         union all select 'policy ' || policyname from pg_policies where policyname = any($6::text[])
         union all select 'trigger ' || tgname from pg_trigger where tgname = any($7::text[])
         union all select 'column users.' || attname from pg_attribute
                   where attrelid = to_regclass('public.users') and attname = any($8::text[]) and not attisdropped
         union all select 'role ' || rolname from pg_roles where rolname in ($9, $10)
         union all select 'schema ' || nspname from pg_namespace where nspname in ('memory_stack', 'auth')
         order by 1`,
        [
            manifest.tables,
            manifest.views,
            manifest.indexes.map((index) => index.name),
            manifest.functions,
            manifest.extensions,
            manifest.policies.map((policy) => policy.name),
            manifest.triggers.map((trigger) => trigger.name),
            [...USERS_MEMORY_COLUMNS],
            options.appRole,
            options.adminRole,
        ],
    );
    return result.rows.map((row) => row.found);
}
