// Data for the live-switch tests and the switch bench: users with goals and beliefs whose embeddings
// are exact in float4 (eighths), a snapshot of every row that reads the embedding as numbers whatever
// the column's type (jsonb, real[], vector), and the stand-in switch program for PostgreSQL 15.
import { join } from "node:path";
import type { Client } from "pg";
import { EMBEDDING_DERIVED } from "../../engine/migrate/manifest";
import { loadMigrationSources, renderMigrations, type Migration, type SchemaOptions } from "../../engine/migrate/render";
import type { Problem } from "../../engine/verify/report";

/** test/fixtures/stand-in: the vector switch's steps converting to real[], for PostgreSQL 15 without pgvector. */
export const STAND_IN_DIR = join(__dirname, "..", "fixtures", "stand-in");

/** The jsonb schema (`base`) and the program that adds the stand-in switch to it. */
export function standInProgram(options: SchemaOptions): { base: Migration[]; program: Migration[] } {
    const base = renderMigrations(loadMigrationSources(), { ...options, vector: false });
    const switchFiles = renderMigrations(loadMigrationSources(STAND_IN_DIR), { ...options, vector: true });
    return { base, program: [...base, ...switchFiles] };
}

/**
 * Verification of a finished stand-in switch, judged by the jsonb variant's expectations: the stand-in
 * type plays vector, so what the real switch drops is missing (0013's derived columns and triggers) and
 * match_* keep the bridge's bodies (no 0017 follows the stand-in). `expected` lists those, `others` the
 * rest — which must be empty.
 */
export function standInVerdict(problems: Problem[]): { expected: Problem[]; others: Problem[] } {
    const dropped = new Set([
        ...Object.entries(EMBEDDING_DERIVED.columns).flatMap(([table, columns]) => columns.map((column) => `column ${table}.${column}`)),
        ...EMBEDDING_DERIVED.triggers.map((trigger) => `trigger ${trigger.table}.${trigger.name}`),
    ]);
    const isExpected = (problem: Problem) =>
        (problem.issue === "missing" && dropped.has(`${problem.kind} ${problem.name}`)) ||
        (problem.kind === "function" &&
            /^public\.match_(goals|beliefs)\(/.test(problem.name) &&
            problem.issue.startsWith("body differs")) ||
        // The stand-in's embeddings are real[], where the jsonb variant's expectations say jsonb with a jsonb check.
        (problem.kind === "constraint" &&
            /^(goal_assessments\.goal_assessments_goal_vector_check|belief_graphs\.belief_graphs_belief_vector_check)$/.test(
                problem.name,
            ) &&
            problem.issue.startsWith("missing")) ||
        (problem.kind === "column" &&
            /^(goal_assessments\.goal_vector|belief_graphs\.belief_vector)$/.test(problem.name) &&
            problem.issue.startsWith("is real[]"));
    return { expected: problems.filter(isExpected), others: problems.filter((problem) => !isExpected(problem)) };
}

/** Embedding number `n`: `dimensions` eighths from -8 to 8, exact in float4, different for each n. */
export function embedding(n: number, dimensions: number): number[] {
    return Array.from({ length: dimensions }, (_, i) => ((((n * 7 + i * 13) % 129) + 129) % 129) / 8 - 8);
}

export interface SeededUser {
    id: string;
    goals: string[];
    beliefs: string[];
}

/** `users` users, each with goals and beliefs carrying embeddings; one goal per user has none (null stays null). */
export async function seedEmbeddings(
    client: Client,
    sizes: { users: number; goalsPerUser: number; beliefsPerUser: number; dimensions: number },
): Promise<SeededUser[]> {
    const users = await client.query<{ id: string }>(
        "insert into public.users (email) select format('switch-%s@example.com', n) from generate_series(1, $1::int) n returning id",
        [sizes.users],
    );
    const seeded: SeededUser[] = [];
    let n = 0;
    for (const { id } of users.rows) {
        const goals = Array.from({ length: sizes.goalsPerUser }, (_, g) => [
            id,
            `goal ${g}`,
            g === 0 ? null : JSON.stringify(embedding(n++, sizes.dimensions)),
        ]);
        const beliefs = Array.from({ length: sizes.beliefsPerUser }, (_, b) => [
            id,
            `belief ${b}`,
            JSON.stringify(embedding(n++, sizes.dimensions)),
        ]);
        const goalIds = await client.query<{ id: string }>(
            `insert into public.goal_assessments (user_id, agent_name, goal_text, goal_vector, tags)
             select (r ->> 0)::uuid, 'seed', r ->> 1, (r ->> 2)::jsonb, '{seed}' from jsonb_array_elements($1::jsonb) r returning id`,
            [JSON.stringify(goals)],
        );
        const beliefIds = await client.query<{ id: string }>(
            `insert into public.belief_graphs (user_id, agent_name, subject, predicate, object, belief_vector)
             select (r ->> 0)::uuid, 'seed', 'user', 'believes', r ->> 1, (r ->> 2)::jsonb from jsonb_array_elements($1::jsonb) r returning id`,
            [JSON.stringify(beliefs)],
        );
        seeded.push({ id, goals: goalIds.rows.map((row) => row.id), beliefs: beliefIds.rows.map((row) => row.id) });
    }
    return seeded;
}

export interface RowSnapshot {
    id: string;
    /** Every other column, as json text (the embedding and its twin left out). */
    other: string;
    /** The embedding as numbers, or null. */
    numbers: number[] | null;
}

/** Every goal and belief, by id; the embedding read as numbers from jsonb, real[] or vector. */
export async function snapshot(client: Client): Promise<{ goals: RowSnapshot[]; beliefs: RowSnapshot[] }> {
    return {
        goals: await rows(client, "goal_assessments", "goal_vector"),
        beliefs: await rows(client, "belief_graphs", "belief_vector"),
    };
}

async function rows(client: Client, table: string, column: string): Promise<RowSnapshot[]> {
    const type = await client.query<{ type: string }>(
        "select format_type(atttypid, atttypmod) as type from pg_attribute where attrelid = $1::regclass and attname = $2 and not attisdropped",
        [`public.${table}`, column],
    );
    const numbers =
        type.rows[0].type === "jsonb"
            ? `case when ${column} is null then null else array(select jsonb_array_elements_text(${column})::float8) end`
            : type.rows[0].type.startsWith("vector")
              ? `${column}::real[]::float8[]`
              : `${column}::float8[]`;
    const result = await client.query<RowSnapshot>(
        `select id, (to_jsonb(t) - ${uncompared(column)})::text as other, ${numbers} as numbers from public.${table} t order by id`,
    );
    return result.rows;
}

/** The embedding, its twin during the switch and the jsonb variant's derived copies (sql/0013), which the switch drops: not compared. */
export function uncompared(column: string): string {
    return `array['${column}', '${column}_new', '${column}_unit', '${column}_signs', '${column}_magnitudes']`;
}
