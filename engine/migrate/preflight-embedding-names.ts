// Columns the schema adds beside the jsonb embeddings with `add column if not exists`: 0013's derived copies
// (<embedding>_unit, _signs, _magnitudes) and the switch's twin (<embedding>_new, 0015). An application's own column of
// such a name is skipped by the add and then used as the schema's: the triggers overwrite its values on every write,
// and the switch drops it (a derived copy) or, when its type takes a vector, swaps it in for the embedding, whose jsonb
// values are dropped. The switch's trigger too (vector_switch_sync, `create or replace trigger`): an application's own
// of that name would be replaced, then dropped by 0016. Refused while the embedding is still jsonb and no record gives
// the column or trigger to the stack.
import { textArray } from "../db/literal";
import { EMBEDDING_DERIVED } from "./manifest";
import type { Conflict } from "./preflight";

const EMBEDDINGS: Record<string, string> = { goal_assessments: "goal_vector", belief_graphs: "belief_vector" };

/** `table.column` of the columns an apply of this variant would add beside the jsonb embeddings. */
function addedColumns(vector: boolean): string[] {
    return Object.entries(EMBEDDINGS).flatMap(([table, embedding]) => [
        ...EMBEDDING_DERIVED.columns[table as keyof typeof EMBEDDING_DERIVED.columns].map((column) => `${table}.${column}`),
        ...(vector ? [`${table}.${embedding}_new`] : []),
    ]);
}

/** SQL: the embedding column of the table `c` is jsonb. */
const EMBEDDING_IS_JSONB = `exists (select from pg_attribute e where e.attrelid = c.oid and e.atttypid = 'jsonb'::regtype and not e.attisdropped
    and e.attname = (${textArray(Object.values(EMBEDDINGS))})[array_position(${textArray(Object.keys(EMBEDDINGS))}, c.relname::text)])`;

/** SQL: those columns, and with vector the switch's trigger, that exist beside an embedding that is still jsonb (`identity` as the ownership records write it). */
export function embeddingNamesRead(vector: boolean): string {
    return `select format('column public.%s.%s', c.relname, a.attname) as identity, c.relname as table, a.attname as name,
            format_type(a.atttypid, a.atttypmod) as type
       from unnest(${textArray(addedColumns(vector))}) as w(name)
       join pg_class c on c.oid = to_regclass(format('public.%I', split_part(w.name, '.', 1)))
       join pg_attribute a on a.attrelid = c.oid and a.attname = split_part(w.name, '.', 2) and not a.attisdropped
      where ${EMBEDDING_IS_JSONB}
     union all
     select format('trigger public.%s.%s', quote_ident(c.relname), quote_ident(t.tgname)), c.relname, t.tgname, 'trigger'
       from pg_trigger t join pg_class c on c.oid = t.tgrelid
      where ${vector} and not t.tgisinternal and t.tgname = 'vector_switch_sync'
        and c.oid = any (array[to_regclass('public.goal_assessments'), to_regclass('public.belief_graphs')]::oid[])
        and ${EMBEDDING_IS_JSONB}
      order by 2, 3`;
}

export interface EmbeddingNameRow {
    identity: string;
    table: string;
    /** The column's name, or the trigger's. */
    name: string;
    /** The column's type, or "trigger". */
    type: string;
}

/** A conflict for each such column (or the switch's trigger, type "trigger") that is not the stack's; `owned`: the identities the ownership records give it. */
export function embeddingNameConflicts(rows: EmbeddingNameRow[], owned: Set<string>): Conflict[] {
    return rows
        .filter((row) => !owned.has(row.identity))
        .map((row) =>
            row.type === "trigger"
                ? {
                      object: `trigger ${row.name} on public.${row.table}`,
                      problem:
                          "exists and is not the stack's, and the switch to vector creates a trigger of that name (create or replace), " +
                          "then drops it",
                      fix: `Rename the application's trigger (alter trigger ${row.name} on public.${row.table} rename to ...)`,
                  }
                : {
                      object: `column public.${row.table}.${row.name} (${row.type})`,
                      problem: row.name.endsWith("_new")
                          ? "exists and is not the stack's, and the switch to vector adds a column of that name: it would write every embedding " +
                            "into it and then swap it in for the embedding column, dropping the jsonb embeddings and this column's own values"
                          : "exists and is not the stack's, and the memory schema adds a column of that name derived from the embedding " +
                            "(0013_similarity_derived.sql): its trigger would overwrite this column's values, and the switch to vector drops it",
                      fix: `Rename the application's column (alter table public.${row.table} rename column ${row.name} to ...)`,
                  },
        );
}
