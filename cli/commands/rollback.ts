// memory-stack rollback: removes every object the schema recorded as created, nothing else; refuses
// while they hold data unless --allow-data-loss.
import { REUSED_REASON } from "../../engine/migrate/identity";
import { loadRollbackSql } from "../../engine/migrate/render";
import { rollbackSchema } from "../../engine/migrate/rollback";
import { describeWaits } from "../../engine/migrate/session";
import type { Command } from "./command";

export const rollback: Command = async ({ client, args, schema, session }) => {
    const result = await rollbackSchema(client, {
        rollbackSql: loadRollbackSql(),
        allowDataLoss: args.allowDataLoss,
        defaults: schema,
        ...session,
    });
    const dropped = Object.entries(result.rowCounts).filter(([, rows]) => rows > 0);
    const values = Object.entries(result.columnCounts).filter(([, count]) => count > 0);
    const text = !result.rolledBack
        ? "nothing to roll back: this database has no memory-stack ledger (schema memory_stack), so nothing in it is recorded as the stack's; nothing was dropped"
        : [
              `rolled back the memory schema in ${Math.round(result.durationMs)} ms${describeWaits(result.waits)}`,
              ...(dropped.length > 0 ? [`rows dropped: ${dropped.map(([table, rows]) => `${table} ${rows}`).join(", ")}`] : []),
              ...(values.length > 0
                  ? [`non-default values dropped: ${values.map(([column, count]) => `${column} ${count}`).join(", ")}`]
                  : []),
              ...(result.kept.length > 0
                  ? [
                        `kept (other objects depend on them): ${result.kept.join(", ")}; ` +
                            "their records stay in memory_stack.created_objects, so the next apply takes them as the stack's and a later rollback drops them",
                    ]
                  : []),
              ...(result.reused.length > 0
                  ? [
                        `left alone (not the stack's: ${REUSED_REASON}): ${result.reused.join(", ")}; ` +
                            "their records were dropped, so they are the application's now",
                    ]
                  : []),
          ].join("; ");
    return {
        exitCode: 0,
        text,
        json: {
            rolledBack: result.rolledBack,
            rowCounts: result.rowCounts,
            columnCounts: result.columnCounts,
            kept: result.kept,
            reused: result.reused,
            durationMs: Math.round(result.durationMs),
            waits: result.waits,
        },
    };
};
