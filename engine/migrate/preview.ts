// `plan`: what an apply would run and every conflict that would make it refuse, decided by the same
// rules as apply and changing nothing. On a database of releases 1 and 2 apply first records what
// those created (legacy.ts); plan does the same inside a transaction it rolls back.
import type { SqlClient } from "../db/client";
import { adoptLegacy } from "./legacy";
import { ensureLedger, legacyRows, readLedger } from "./ledger";
import { readRecords } from "./ownership";
import { planMigrations, type MigrationFile, type Plan } from "./plan";
import { parseSqlFile } from "./execute";
import { preflight, type Conflict } from "./preflight";
import { encodingConflicts } from "./preflight-encoding";
import type { SchemaOptions } from "./render";
import { DEFAULT_LOCK_SETTINGS, type LockSettings } from "./session";
import { CATALOG_SEARCH_PATH } from "./snapshot";
import { readLedgers } from "./step-ledger";

export async function previewApply(
    client: SqlClient,
    migrations: MigrationFile[],
    options: { variant: string; schema: SchemaOptions; locks?: Partial<LockSettings> },
): Promise<{ plan: Plan; conflicts: Conflict[] }> {
    const decide = async () => {
        // The step ledger too: a stepped migration partly applied from another text is drift that apply refuses on.
        const { ledger, steps } = await readLedgers(client);
        const plan = planMigrations(ledger, migrations, options.variant, steps);
        const conflicts =
            plan.pending.length > 0 && plan.drift.length === 0
                ? [
                      ...(await preflight(client, options.schema, await readRecords(client))),
                      ...(await encodingConflicts(
                          client,
                          await Promise.all(
                              plan.pending.map(async (m) => ({ name: m.name, statements: await parseSqlFile(m.name, m.sql) })),
                          ),
                      )),
                  ]
                : [];
        return { plan, conflicts };
    };
    const legacy = legacyRows(await readLedger(client));
    // Without the migration lock, so not on the engine's session path (lock.ts): the preflight's reads name pg_catalog's functions
    // unqualified, and on the caller's path a quote_ident(name) that a role able to create in public planted there would run
    // as the caller. In a transaction rolled back at the end, with pg_catalog's path and identifiers quoted only where they
    // must be, as apply's preflight runs (lock.ts).
    await client.query(`begin; ${CATALOG_SEARCH_PATH}; set local quote_all_identifiers = off`);
    try {
        if (legacy.length > 0) {
            await client.query(`set local lock_timeout = ${Math.round(options.locks?.timeoutMs ?? DEFAULT_LOCK_SETTINGS.timeoutMs)}`);
            await ensureLedger(client);
            await adoptLegacy(client, legacy, migrations);
        }
        return await decide();
    } finally {
        await client.query("rollback").catch(() => undefined);
    }
}
