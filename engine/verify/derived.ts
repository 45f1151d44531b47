// The jsonb variant's derived embedding columns (sql/0013) are kept by a trigger, and a trigger does not
// fire for every writer: a restore may run with triggers disabled, and before 0018 made it fire always, logical
// replication applied rows with session_replication_role = replica without it. A row written so has its embedding but no derived copy, and
// match_goals / match_beliefs skip it (exact => true included) without an error. Counting those rows
// reads both tables once, without parsing any embedding; an embedding changed under the same conditions
// keeps its old copy, which only re-deriving every row could find. The count reads at most
// DERIVED_CHECK_ROWS rows of each table (about a second), so that a large table cannot take verification
// past its statement_timeout: there it covers those rows only.
import { EMBEDDING_DERIVED } from "../migrate/manifest";
import { CheckRunner, expect } from "./checks";
import type { Expectations } from "./expected";

/** The most rows of each table the count reads (at about half a second per million). */
const DERIVED_CHECK_ROWS = 2_000_000;

const EMBEDDINGS = [
    { table: "goal_assessments", embedding: "goal_vector", search: "match_goals" },
    { table: "belief_graphs", embedding: "belief_vector", search: "match_beliefs" },
];

export async function checkDerivedEmbeddings(run: CheckRunner, expected: Expectations): Promise<void> {
    const derived = EMBEDDINGS.filter(({ table, embedding }) => expected.columns[table]?.includes(`${embedding}_signs`));
    if (derived.length === 0) {
        return; // the vector variant: no derived columns
    }
    const needs = derived.flatMap(({ table, embedding }) => [`column ${table}.${embedding}`, `column ${table}.${embedding}_signs`]);
    await run.check("every embedding has its derived copy, which match_goals and match_beliefs search", { needs }, async () => {
        const counts = await run.row<Record<string, number>>(
            `select ${derived
                .map(
                    ({ table, embedding }) =>
                        `(select count(*) from (select ${embedding} is not null and ${embedding}_signs is null as underived ` +
                        `from public.${table} limit ${DERIVED_CHECK_ROWS}) t where t.underived)::int as ${table}`,
                )
                .join(", ")}`,
        );
        const missing = derived.filter(({ table }) => counts[table] > 0);
        expect(
            missing.length === 0,
            missing
                .map(
                    ({ table, embedding, search }) =>
                        `${table}: ${counts[table]} row(s) have a ${embedding} but no derived copy (written while the trigger ` +
                        `${EMBEDDING_DERIVED.triggers.find((t) => t.table === table)!.name} did not fire: session_replication_role = replica, ` +
                        `or the trigger disabled), so ${search} never finds them; derive them, keeping updated_at: begin; set local ` +
                        `memory_stack.derive_only = on; update public.${table} set ${embedding}_signs = null where ${embedding} is not null ` +
                        `and ${embedding}_signs is null; commit`,
                )
                .join("; "),
        );
    });
}
