// What a rollback did, in the words the CLI prints and the schema provider writes beside `pulumi destroy`.
import { describeChangedColumns, type ChangedColumns } from "./changed-columns";
import { describeLeftInPlace } from "./deployed-by";
import { REUSED_REASON } from "./identity";
import type { RollbackResult } from "./rollback";
import { describeWaits } from "./session";

export const NOTHING_TO_ROLL_BACK =
    "nothing to roll back: this database has no memory-stack ledger (schema memory_stack), so nothing in it is recorded as the stack's; nothing was dropped";

/** One line per fact: what was dropped, what held data, what was kept or left alone and why. */
export function describeRollback(result: RollbackResult, stack: string | null = null): string[] {
    if (result.deployedBy) {
        return [describeLeftInPlace(result.deployedBy, stack)];
    }
    if (!result.rolledBack) {
        return [NOTHING_TO_ROLL_BACK];
    }
    const dropped = Object.entries(result.rowCounts).filter(([, rows]) => rows > 0);
    const values = Object.entries(result.columnCounts).filter(([, count]) => count > 0);
    return [
        `rolled back the memory schema in ${Math.round(result.durationMs)} ms${describeWaits(result.waits)}`,
        ...(dropped.length > 0 ? [`rows dropped: ${dropped.map(([table, rows]) => `${table} ${rows}`).join(", ")}`] : []),
        ...(values.length > 0 ? [`non-default values dropped: ${values.map(([column, count]) => `${column} ${count}`).join(", ")}`] : []),
        ...describeChangedColumns(droppedFromTablesThatStay(result.columnCounts)),
        ...(result.kept.length > 0
            ? [
                  `kept (other objects depend on them): ${result.kept.join(", ")}` +
                      (result.keptRolesUsedBy?.length
                          ? ` (roles belong to the whole server: ${describeDatabases(result.keptRolesUsedBy)} them, ` +
                            "and they stay until no database does)"
                          : "") +
                      "; " +
                      "their records stay in memory_stack.created_objects, so the next apply takes them as the stack's and a later rollback drops them",
              ]
            : []),
        ...(result.reused.length > 0
            ? [
                  `left alone (not the stack's: ${REUSED_REASON}): ${result.reused.join(", ")}; ` +
                      "their records were dropped, so they are the application's now",
              ]
            : []),
    ];
}

/** The recorded columns the rollback dropped from tables that stay (the memory columns of an application's users). */
function droppedFromTablesThatStay(columnCounts: Record<string, number>): ChangedColumns[] {
    const byTable = new Map<string, string[]>();
    for (const key of Object.keys(columnCounts)) {
        // "users.memory_enabled", or "schema.table.column" outside public (guard.ts)
        const dot = key.lastIndexOf(".");
        const table = key.slice(0, dot).includes(".") ? key.slice(0, dot) : `public.${key.slice(0, dot)}`;
        byTable.set(table, [...(byTable.get(table) ?? []), key.slice(dot + 1)]);
    }
    return [...byTable].map(([table, dropped]) => ({ table, columns: [], dropped: dropped.sort(), migrations: ["the rollback"] }));
}

/** "database d3 still uses" or "databases d3, d4 still use". */
function describeDatabases(names: string[]): string {
    return names.length === 1 ? `database ${names[0]} still uses` : `databases ${names.join(", ")} still use`;
}
