// memory-stack rollback: removes what the schema added, nothing else; refuses while memory tables hold rows.
import { rollbackSchema } from "../../engine/migrate/index";
import { MEMORY_TABLES } from "../../engine/migrate/manifest";
import { renderRollback } from "../../engine/migrate/render";
import type { Command } from "./command";

export const rollback: Command = async ({ client, args, schema }) => {
    const result = await rollbackSchema(client, {
        rollbackSql: renderRollback(schema),
        memoryTables: MEMORY_TABLES,
        allowDataLoss: args.allowDataLoss,
    });
    const dropped = Object.entries(result.rowCounts).filter(([, rows]) => rows > 0);
    return {
        exitCode: 0,
        text: !result.rolledBack
            ? "nothing to roll back: the memory schema is not in this database"
            : `rolled back the memory schema in ${Math.round(result.durationMs)} ms${dropped.length > 0 ? `; rows dropped: ${dropped.map(([table, rows]) => `${table} ${rows}`).join(", ")}` : ""}`,
        json: { rolledBack: result.rolledBack, rowCounts: result.rowCounts, durationMs: Math.round(result.durationMs) },
    };
};
