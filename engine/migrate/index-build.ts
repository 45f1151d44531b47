// What the engine does around a `create index` in a `no transaction` step:
//   - a build that was cut off (process killed, connection lost, server crash) leaves an INVALID
//     index under the statement's name: it is dropped concurrently before the build runs again;
//   - maintenance_work_mem is sized for the build (rows × bytes per entry, sampled from the table,
//     plus the graph's neighbour lists for hnsw), never above migration.maintenanceWorkMemMb and never
//     below the server's own setting, and restored afterwards; pgvector builds an hnsw graph in
//     memory up to that size and becomes many times slower once it no longer fits;
//   - a parallel build that cannot get its shared memory (a container's small /dev/shm) is run again
//     without parallel workers.
// The table, the index name and the indexed expressions come from the parse tree, not the text.
import type { SqlClient } from "../db/client";
import { quoteIdentifier } from "./render";
import type { Statement } from "./statements";

type Node = Record<string, unknown>;

export interface IndexTarget {
    /** The table, quoted and qualified as the statement names it. */
    table: string;
    /** The index name (unquoted), when the statement gives one. */
    name: string | undefined;
    /** SQL for each indexed column or expression, when it can be written back (a column, or a column cast to a type). */
    expressions: string[];
    /** hnsw, ivfflat, btree, gin… */
    method: string;
    /** hnsw's m (neighbours per layer), default 16. */
    m: number;
}

export interface MemoryPlan {
    /** What the build needs to run in memory, in MB (rounded up). */
    neededMb: number;
    /** What maintenance_work_mem is set to for the build, in MB. */
    settingMb: number;
    /** migration.maintenanceWorkMemMb. */
    boundMb: number;
    rows: number;
    /** Average bytes of one indexed entry, sampled. */
    entryBytes: number;
}

export function indexTarget(statement: Statement): IndexTarget | undefined {
    if (statement.kind !== "IndexStmt") return undefined;
    const { node } = statement;
    const relation = node.relation as { schemaname?: string; relname: string };
    const options = ((node.options ?? []) as { DefElem: Node }[]).map((option) => option.DefElem);
    const m = options.find((option) => option.defname === "m");
    return {
        table: [relation.schemaname, relation.relname]
            .filter((part) => part !== undefined)
            .map((part) => quoteIdentifier(part!))
            .join("."),
        name: typeof node.idxname === "string" ? node.idxname : undefined,
        expressions: ((node.indexParams ?? []) as { IndexElem: Node }[]).map(({ IndexElem: element }) =>
            typeof element.name === "string" ? quoteIdentifier(element.name) : (expressionSql(element.expr as Node) ?? ""),
        ),
        method: typeof node.accessMethod === "string" ? node.accessMethod : "btree",
        m: Number(((m?.arg as { Integer?: { ival?: number } } | undefined)?.Integer?.ival as number | undefined) ?? 16),
    };
}

/** A column, or a column cast to a type with constant modifiers (`goal_vector::halfvec(3072)`); undefined otherwise. */
function expressionSql(expr: Node): string | undefined {
    const column = expr.ColumnRef as { fields: { String?: { sval: string } }[] } | undefined;
    if (column && column.fields.length === 1 && column.fields[0].String) {
        return quoteIdentifier(column.fields[0].String.sval);
    }
    const cast = expr.TypeCast as {
        arg: Node;
        typeName: { names: { String: { sval: string } }[]; typmods?: { A_Const: { ival?: { ival?: number } } }[] };
    };
    const argument = cast ? expressionSql(cast.arg) : undefined;
    if (argument === undefined) return undefined;
    const type = cast.typeName.names
        .map((name) => name.String.sval)
        .filter((name) => name !== "pg_catalog")
        .join(".");
    const modifiers = (cast.typeName.typmods ?? []).map((typmod) => typmod.A_Const.ival?.ival ?? 0);
    return `(${argument})::${type}${modifiers.length > 0 ? `(${modifiers.join(", ")})` : ""}`;
}

/** Drops an INVALID index left under the statement's name by a build that was cut off; returns its name when it did. */
export async function dropInvalidLeftover(client: SqlClient, target: IndexTarget): Promise<string | undefined> {
    if (target.name === undefined) return undefined;
    const found = await client.query<{ name: string }>(
        `select i.oid::regclass::text as name from pg_index x join pg_class i on i.oid = x.indexrelid
          where x.indrelid operator(pg_catalog.=) pg_catalog.to_regclass($1)::pg_catalog.oid and i.relname = $2 and not x.indisvalid`,
        [target.table, target.name],
    );
    if (found.rows.length === 0) return undefined;
    await client.query(`drop index concurrently if exists ${found.rows[0].name}`);
    return found.rows[0].name;
}

const MB = 1024 * 1024;
// pgvector keeps per element its value and, on the bottom layer, 2·m neighbour candidates of 16 bytes.
const HNSW_ELEMENT_OVERHEAD = 128;
const OTHER_ENTRY_OVERHEAD = 64;
const SAMPLE_ROWS = 1000;

/** Sizes maintenance_work_mem for the build (session-level: the step runs outside a transaction). */
export async function sizeMaintenanceWorkMem(client: SqlClient, target: IndexTarget, boundMb: number): Promise<MemoryPlan | undefined> {
    const expressions = target.expressions.filter((expression) => expression !== "");
    if (expressions.length === 0 || expressions.length !== target.expressions.length) return undefined;
    const rows = await rowCount(client, target.table);
    const sampled = await client.query<{ sampled: string; bytes: string | null; present: string }>(
        `select pg_catalog.count(*) as sampled, pg_catalog.count(e0) as present, ${expressions.map((_, i) => `coalesce(pg_catalog.avg(pg_catalog.pg_column_size(e${i})), 0)`).join(" + ")} as bytes
           from (select ${expressions.map((expression, i) => `${expression} as e${i}`).join(", ")} from ${target.table} limit ${SAMPLE_ROWS}) s`,
    );
    const sample = sampled.rows[0];
    const share = Number(sample.sampled) === 0 ? 1 : Number(sample.present) / Number(sample.sampled);
    const entryBytes = Number(sample.bytes ?? 0);
    const overhead = target.method === "hnsw" ? 2 * target.m * 16 + HNSW_ELEMENT_OVERHEAD : OTHER_ENTRY_OVERHEAD;
    const neededMb = Math.ceil((rows * share * (entryBytes + overhead) * 1.2) / MB) + 1;
    const currentMb = await settingMb(client);
    const settingMbValue = Math.max(currentMb, Math.min(neededMb, boundMb));
    await client.query("select set_config('maintenance_work_mem', $1, false)", [`${settingMbValue}MB`]);
    return { neededMb, settingMb: settingMbValue, boundMb, rows: Math.round(rows * share), entryBytes: Math.round(entryBytes) };
}

async function rowCount(client: SqlClient, table: string): Promise<number> {
    const estimate = await client.query<{ rows: number }>(
        "select reltuples::float8 as rows from pg_catalog.pg_class where oid operator(pg_catalog.=) pg_catalog.to_regclass($1)::pg_catalog.oid",
        [table],
    );
    const rows = estimate.rows[0]?.rows ?? -1;
    // -1: never vacuumed or analyzed; count instead of guessing.
    if (rows >= 0) return rows;
    const counted = await client.query<{ rows: string }>(`select pg_catalog.count(*) as rows from ${table}`);
    return Number(counted.rows[0].rows);
}

async function settingMb(client: SqlClient): Promise<number> {
    const result = await client.query<{ kb: string }>("select setting as kb from pg_settings where name = 'maintenance_work_mem'");
    return Math.floor(Number(result.rows[0].kb) / 1024);
}

/**
 * A parallel build whose workers could not get their shared memory segment (a small /dev/shm in a container). The server's
 * source file tells it in any lc_messages (a SqlFileError's cause carries it); the English text is for an error without one.
 */
export function isSharedMemoryShortage(error: unknown): boolean {
    const { code, message, cause } = (error as { sqlState?: string; code?: string; message?: string; cause?: unknown }) ?? {};
    const sqlState = (error as { sqlState?: string }).sqlState ?? code;
    const source = ((cause ?? error) as { file?: unknown }).file;
    return (sqlState === "53100" || sqlState === "53200") && (source === "dsm_impl.c" || /shared memory segment/.test(message ?? ""));
}
