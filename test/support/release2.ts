// A database migrated the way releases 1 and 2 did it: each file in its own transaction with its
// ledger row, the ledger without the options and recorded columns, and no ownership records beyond
// what the files themselves insert into memory_stack.owned_objects. Stops at the first failing file,
// as those releases did (that migration rolled back, the ones before it applied). Only the files
// release 2 shipped (up to 0010) are applied.
import type { Client } from "pg";
import type { Migration } from "../../engine/migrate/render";

export const inRelease2 = (migration: Migration): boolean => migration.name < "0011";

export async function migrateLikeRelease2(client: Client, migrations: Migration[], variant = "jsonb"): Promise<string[]> {
    const applied: string[] = [];
    for (const migration of migrations.filter(inRelease2)) {
        await client.query("begin");
        try {
            await client.query(`create schema if not exists memory_stack;
                create table if not exists memory_stack.migrations (name text primary key, checksum text not null, variant text not null,
                    applied_at timestamptz not null default now(), duration_ms integer not null check (duration_ms >= 0))`);
            await client.query(migration.sql);
            await client.query("insert into memory_stack.migrations (name, checksum, variant, duration_ms) values ($1, $2, $3, 1)", [
                migration.name,
                migration.checksum,
                variant,
            ]);
            await client.query("commit");
            applied.push(migration.name);
        } catch {
            await client.query("rollback");
            break;
        }
    }
    return applied;
}
