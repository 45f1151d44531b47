// The data guard of a rollback: every recorded table it would drop (a stack-created users included)
// counts its rows, and every recorded column it would drop from a table the stack did not create
// (the memory columns on an application's users) counts the values that differ from its default —
// a memory_enabled = false opt-out is data too. For the memory columns on users that is the default
// the stack gave them, which the next apply gives back, not whatever default the application set
// since (memory made opt-in: every row false is every user's opt-out). Any of them above zero refuses
// the rollback, saying what and how many, unless data loss is allowed. Rows that row level security
// hides from the role it runs as refuse it always: they cannot be counted (DataGuardBlindError).
import type { SqlClient } from "../db/client";
import { LEDGER_SCHEMA } from "./ledger";
import { USERS_MEMORY_DEFAULTS } from "./manifest";
import type { RecordedObject } from "./ownership";
import { compareText } from "../compare";

export class DataLossRefusedError extends Error {
    constructor(
        readonly rowCounts: Record<string, number>,
        readonly columnCounts: Record<string, number> = {},
    ) {
        const tables = Object.entries(rowCounts)
            .filter(([, rows]) => rows > 0)
            .sort(([a], [b]) => compareText(a, b));
        const columns = Object.entries(columnCounts)
            .filter(([, values]) => values > 0)
            .sort(([a], [b]) => compareText(a, b));
        const rows = tables.reduce((sum, [, n]) => sum + n, 0);
        const values = columns.reduce((sum, [, n]) => sum + n, 0);
        const lost = [
            ...(tables.length > 0
                ? [`${rows} row${rows === 1 ? "" : "s"} would be lost (${tables.map(([t, n]) => `${t}: ${n}`).join(", ")})`]
                : []),
            ...(columns.length > 0
                ? [
                      `${values} non-default value${values === 1 ? "" : "s"} in columns the stack added would be lost (${columns.map(([c, n]) => `${c}: ${n}`).join(", ")})`,
                  ]
                : []),
        ];
        const dump = [
            ...tables.map(([table]) => `-t ${table}`),
            ...[...new Set(columns.map(([column]) => column.slice(0, column.lastIndexOf("."))))].map((table) => `-t ${table}`),
        ];
        super(
            `refusing to roll back the memory schema: ${lost.join("; ")}. Nothing was dropped.\n` +
                `To proceed, export what you need first (pg_dump --data-only ${dump.join(" ")}), then allow the loss: ` +
                "with Pulumi, `pulumi config set memory-stack:allowDataLoss true`, `pulumi up` (records it in the schema resource's state), then `pulumi destroy`; " +
                "with the CLI, `memory-stack rollback --allow-data-loss`.",
        );
        this.name = "DataLossRefusedError";
    }
}

/** Row level security hides rows of tables the rollback would drop from the role it runs as: their rows cannot be counted. */
export class DataGuardBlindError extends Error {
    constructor(
        readonly role: string,
        readonly tables: string[],
    ) {
        const list = tables.join(", ");
        super(
            `refusing to roll back the memory schema: row level security applies to ${role} on ${list}, so the data guard cannot count ` +
                "the rows that would be lost. Nothing was dropped.\n" +
                "To proceed, roll back as a role that sees every row (a superuser, or a role with BYPASSRLS), or lift FORCE ROW LEVEL SECURITY " +
                `for the table's owner first (${tables.map((table) => `alter table ${table} no force row level security`).join("; ")}).`,
        );
        this.name = "DataGuardBlindError";
    }
}

interface AtRisk {
    tables: { key: string; sql: string }[];
    columns: { key: string; table: string; column: string }[];
}

/** Recorded tables, and recorded columns of tables the stack did not create, that exist now. */
async function atRisk(client: SqlClient, records: RecordedObject[]): Promise<AtRisk> {
    const ownedTables = new Set(records.filter((r) => r.kind === "table").map((r) => `${r.schema}.${r.name}`));
    // The stack's own bookkeeping (memory_stack.owned_objects) is not data.
    const tables = records.filter((r) => r.kind === "table" && r.schema !== LEDGER_SCHEMA);
    const columns = records.filter((r) => r.kind === "column" && !ownedTables.has(`${r.schema}.${r.parent}`));
    const result = await client.query<{ n: number; target: string | null }>(
        `select n, case when to_regclass(format('%I.%I', schema, name)) is not null then format('%I.%I', schema, name) end as target
           from unnest($1::text[], $2::text[]) with ordinality as t(schema, name, n)`,
        [
            [...tables.map((r) => r.schema), ...columns.map((r) => r.schema)],
            [...tables.map((r) => r.name), ...columns.map((r) => r.parent)],
        ],
    );
    const target = (index: number) => result.rows.find((row) => Number(row.n) === index + 1)?.target ?? null;
    const show = (schema: string | null, name: string) => (schema === "public" ? name : `${schema}.${name}`);
    return {
        tables: tables.flatMap((r, i) => (target(i) ? [{ key: show(r.schema, r.name), sql: target(i)! }] : [])),
        columns: columns.flatMap((r, i) =>
            target(tables.length + i)
                ? [{ key: `${show(r.schema, r.parent!)}.${r.name}`, table: target(tables.length + i)!, column: r.name }]
                : [],
        ),
    };
}

/**
 * Locks everything the guard counts and the rollback drops data from, inside the rollback's transaction (bounded by its
 * lock_timeout). "exclusive" while the guard counts: no row can change, but agents' reads go on through the scans (of an
 * application's whole users table too); "access exclusive" once counted, for the drops.
 */
export async function lockAtRisk(client: SqlClient, records: RecordedObject[], mode: "exclusive" | "access exclusive"): Promise<void> {
    const { tables, columns } = await atRisk(client, records);
    const targets = [...new Set([...tables.map((t) => t.sql), ...columns.map((c) => c.table)])];
    if (targets.length > 0) {
        await client.query(`lock table ${targets.join(", ")} in ${mode} mode`);
    }
}

export async function countAtRisk(
    client: SqlClient,
    records: RecordedObject[],
): Promise<{ rowCounts: Record<string, number>; columnCounts: Record<string, number> }> {
    const { tables, columns } = await atRisk(client, records);
    // Under FORCE ROW LEVEL SECURITY the policies apply to the table's owner too: a deployer that is neither a superuser nor
    // BYPASSRLS would count only the rows they show it (none, with no user id set) and drop the rest unseen.
    const hidden = await client.query<{ target: string; role: string }>(
        "select t.target, current_user as role from unnest($1::text[]) t(target) where row_security_active(t.target::regclass)",
        [[...new Set([...tables.map((t) => t.sql), ...columns.map((c) => c.table)])]],
    );
    if (hidden.rows.length > 0) {
        throw new DataGuardBlindError(
            hidden.rows[0].role,
            hidden.rows.map((row) => row.target),
        );
    }
    const defaults = await client.query<{ n: number; value: string | null }>(
        `select t.n, (select pg_get_expr(d.adbin, d.adrelid) from pg_attrdef d join pg_attribute a on a.attrelid = d.adrelid and a.attnum = d.adnum
                       where d.adrelid = t.target::regclass and a.attname = t.col) as value
           from unnest($1::text[], $2::text[]) with ordinality as t(target, col, n)`,
        [columns.map((c) => c.table), columns.map((c) => c.column)],
    );
    const value = (column: AtRisk["columns"][number], i: number) =>
        (column.table === "public.users" ? USERS_MEMORY_DEFAULTS[column.column] : undefined) ??
        defaults.rows.find((row) => Number(row.n) === i + 1)?.value ??
        "null";
    // One scan per table: the columns of one table (the memory columns of users) are counted together, so the application's
    // writes wait out one scan of users under the guard's lock, not one per column.
    const byTable = new Map<string, number[]>();
    columns.forEach((column, i) => byTable.set(column.table, [...(byTable.get(column.table) ?? []), i]));
    const groups = [...byTable];
    const parts = [
        ...tables.map((table) => `(select array[count(*)] from ${table.sql})`),
        ...groups.map(
            ([table, indexes]) =>
                `(select array[${indexes.map((i) => `count(*) filter (where ${quote(columns[i].column)} is distinct from (${value(columns[i], i)}))`).join(", ")}] from ${table})`,
        ),
    ];
    if (parts.length === 0) {
        return { rowCounts: {}, columnCounts: {} };
    }
    const result = await client.query<Record<string, string[]>>(
        `select ${parts.map((part, i) => `${part}::bigint[] as c${i}`).join(", ")}`,
    );
    const [row] = result.rows;
    const columnCounts = new Map(groups.flatMap(([, indexes], g) => indexes.map((i, k) => [i, Number(row[`c${tables.length + g}`][k])])));
    return {
        rowCounts: Object.fromEntries(tables.map((table, i) => [table.key, Number(row[`c${i}`][0])])),
        columnCounts: Object.fromEntries(columns.map((column, i) => [column.key, columnCounts.get(i) ?? 0])),
    };
}

function quote(name: string): string {
    return `"${name.replace(/"/g, '""')}"`;
}
