// Rollback: the data guard, then the rendered rollback SQL and the ledger's removal in one
// transaction, under the migration lock. Everything it needs comes from its arguments, because
// `pulumi destroy` runs it from the state saved at the last `up`, not from today's files.
import { performance } from "node:perf_hooks";
import { withTransaction } from "../db/client";
import { parseSqlFile, runStatements } from "./execute";
import { DROP_LEDGER_SQL, LEDGER_SCHEMA, LEDGER_TABLE, type SqlClient } from "./ledger";
import { DEFAULT_LOCK_TIMEOUT_MS, withMigrationLock } from "./lock";

export interface RollbackOptions {
    /** The rendered rollback SQL (renderRollback); idempotent. */
    rollbackSql: string;
    /** The memory tables whose rows the data guard counts (MEMORY_TABLES), in the public schema. */
    memoryTables: readonly string[];
    /** Drop memory tables that hold rows. Default: false — refuse and drop nothing. */
    allowDataLoss?: boolean;
    /** How long to wait for a concurrent apply to release the lock. Default: 600 000 ms. */
    lockTimeoutMs?: number;
}

export interface RollbackResult {
    /** False when there was nothing to roll back (no ledger, no memory table, no ownership record). */
    rolledBack: boolean;
    /** Rows each memory table held when it was dropped. */
    rowCounts: Record<string, number>;
    durationMs: number;
}

export class DataLossRefusedError extends Error {
    constructor(readonly rowCounts: Record<string, number>) {
        const tables = Object.entries(rowCounts).filter(([, rows]) => rows > 0);
        const total = tables.reduce((sum, [, rows]) => sum + rows, 0);
        super(
            `refusing to roll back the memory schema: ${total} row${total === 1 ? "" : "s"} would be lost ` +
                `(${tables.map(([table, rows]) => `${table}: ${rows}`).join(", ")}). Nothing was dropped.\n` +
                `To proceed, export what you need first (pg_dump --data-only ${tables.map(([table]) => `-t ${table}`).join(" ")}), then allow the loss: ` +
                "with Pulumi, `pulumi config set memory-stack:allowDataLoss true`, `pulumi up` (records it in the schema resource's state), then `pulumi destroy`; " +
                "with the CLI, `memory-stack rollback --allow-data-loss`.",
        );
        this.name = "DataLossRefusedError";
    }
}

const OWNERSHIP_TABLE = `${LEDGER_SCHEMA}.owned_objects`;

export async function rollbackSchema(client: SqlClient, options: RollbackOptions): Promise<RollbackResult> {
    const statements = await parseSqlFile("rollback.sql", options.rollbackSql);
    const ledgerStatements = await parseSqlFile("the ledger removal", DROP_LEDGER_SQL);
    return withMigrationLock(client, options.lockTimeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS, async () => {
        const started = performance.now();
        const present = await presentTables(client, options.memoryTables);
        if (present.length === 0 && !(await anyRegclass(client, [LEDGER_TABLE, OWNERSHIP_TABLE]))) {
            return { rolledBack: false, rowCounts: {}, durationMs: performance.now() - started };
        }
        return withTransaction(client, async () => {
            // Locked before counting, so no row can arrive between the guard and the drop.
            if (present.length > 0) {
                await client.query(`lock table ${present.map(quoteTable).join(", ")} in access exclusive mode`);
            }
            const rowCounts = await countRows(client, present);
            if (!options.allowDataLoss && Object.values(rowCounts).some((rows) => rows > 0)) {
                throw new DataLossRefusedError(rowCounts);
            }
            const outcome = "The rollback was undone: nothing was dropped. Fix the cause and run it again.";
            await runStatements(client, "rollback.sql", options.rollbackSql, statements, outcome);
            await runStatements(client, "the ledger removal", DROP_LEDGER_SQL, ledgerStatements, outcome);
            return { rolledBack: true, rowCounts, durationMs: performance.now() - started };
        });
    });
}

async function presentTables(client: SqlClient, tables: readonly string[]): Promise<string[]> {
    const result = await client.query<{ name: string }>(
        "select name from unnest($1::text[]) with ordinality as t(name, n) where to_regclass(format('public.%I', name)) is not null order by n",
        [tables],
    );
    return result.rows.map((row) => row.name);
}

async function anyRegclass(client: SqlClient, names: string[]): Promise<boolean> {
    const result = await client.query<{ found: boolean }>(
        "select bool_or(to_regclass(name) is not null) as found from unnest($1::text[]) as t(name)",
        [names],
    );
    return result.rows[0].found === true;
}

async function countRows(client: SqlClient, tables: string[]): Promise<Record<string, number>> {
    if (tables.length === 0) {
        return {};
    }
    const union = tables
        .map((table, index) => `select ${index} as n, count(*)::bigint as rows from ${quoteTable(table)}`)
        .join(" union all ");
    const result = await client.query<{ n: number; rows: string }>(union);
    const counts: Record<string, number> = {};
    for (const row of result.rows.sort((a, b) => a.n - b.n)) {
        counts[tables[row.n]] = Number(row.rows);
    }
    return counts;
}

function quoteTable(table: string): string {
    return `public."${table.replace(/"/g, '""')}"`;
}
