// The baseline of the switch figures: the in-place conversion the retired sql/0010_vector.sql does —
// its check, then `alter column … type … using …` on both tables and the index, all in one transaction
// under ACCESS EXCLUSIVE — as one plain migration. On PGlite it is 0010 itself. On PostgreSQL 15
// (no pgvector) it is 0010's own check and drops followed by the same conversion to the stand-in's
// real[] with the stand-in's gin index and functions (test/fixtures/stand-in), so both switches end
// in the same schema and only the method differs.
import { createHash } from "node:crypto";
import type { Migration } from "../../engine/migrate/render";
import { splitStatements } from "../../engine/migrate/statements";

export async function inPlaceStandIn(retired: Migration, standInContract: Migration): Promise<Migration> {
    const retiredStatements = await splitStatements(retired.sql);
    // 0010: the extension, the check (a do block), two function drops, two constraint drops, then the conversion.
    const check = retiredStatements.filter((s) => s.kind === "DoStmt")[1];
    const drops = retiredStatements.filter(
        (s) => s.kind === "DropStmt" || (s.kind === "AlterTableStmt" && s.text.includes("drop constraint")),
    );
    const functions = (await splitStatements(standInContract.sql)).filter(
        (s) => s.kind === "CreateFunctionStmt" || s.kind === "CommentStmt",
    );
    const sql = [
        check.text,
        ...drops.map((s) => s.text),
        "alter table public.goal_assessments alter column goal_vector type real[] using translate(goal_vector::text, '[]', '{}')::real[]",
        "alter table public.belief_graphs alter column belief_vector type real[] using translate(belief_vector::text, '[]', '{}')::real[]",
        "create index if not exists idx_goal_assessments_goal_vector on public.goal_assessments using gin (goal_vector)",
        "create index if not exists idx_belief_graphs_belief_vector on public.belief_graphs using gin (belief_vector)",
        ...functions.map((s) => s.text),
    ]
        .map((text) => `${text};\n`)
        .join("\n");
    return { name: "0015_in_place_stand_in.sql", sql, checksum: createHash("sha256").update(sql).digest("hex") };
}
