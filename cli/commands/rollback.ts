// memory-stack rollback: removes every object the schema recorded as created, nothing else; refuses
// while they hold data unless --allow-data-loss.
import { loadRollbackSql } from "../../engine/migrate/render";
import { rollbackSchema } from "../../engine/migrate/rollback";
import { describeRollback } from "../../engine/migrate/rollback-summary";
import type { Command } from "./command";

export const rollback: Command = async ({ client, args, schema, session }) => {
    const result = await rollbackSchema(client, {
        rollbackSql: loadRollbackSql(),
        allowDataLoss: args.allowDataLoss,
        defaults: schema,
        ...session,
    });
    const text = describeRollback(result).join("; ");
    return {
        exitCode: 0,
        text,
        json: {
            rolledBack: result.rolledBack,
            rowCounts: result.rowCounts,
            columnCounts: result.columnCounts,
            kept: result.kept,
            keptRolesUsedBy: result.keptRolesUsedBy ?? [],
            reused: result.reused,
            durationMs: Math.round(result.durationMs),
            waits: result.waits,
        },
    };
};
