// A stack from before a file was retired (engine/migrate/retired.ts): the engine no longer applies the
// file, so a test that needs such a stack runs it as the engine did then — the file, what it created
// and its ledger row, in one transaction.
import type { Client } from "pg";
import { describeVariant } from "../../engine/migrate/index";
import { recordMigration } from "../../engine/migrate/ledger";
import { recordCreated } from "../../engine/migrate/ownership";
import type { Migration, SchemaOptions } from "../../engine/migrate/render";
import { snapshot } from "../../engine/migrate/snapshot";

export async function applyAsBeforeRetirement(client: Client, migration: Migration, options: SchemaOptions): Promise<void> {
    await client.query("begin");
    const before = await snapshot(client);
    await client.query(migration.sql);
    await recordCreated(client, migration.name, before);
    await recordMigration(client, { name: migration.name, checksum: migration.checksum, variant: describeVariant(options), durationMs: 1 });
    await client.query("commit");
}
