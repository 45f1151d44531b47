// What "the deployed version" of a function or trigger is, read from the rendered migrations the
// schema resource applied: no second copy of the definitions to keep in step.
//
// A function is proven by md5(pg_proc.prosrc): the parser hands over the body exactly as PostgreSQL
// stores it. Its security definer flag is compared too (the one header property that changes who the
// body runs as), and its volatility (an immutable call is folded into a plan, which a cached plan then
// replays for later transactions: a user id read once serves every later user). Only top-level `create [or replace] function` statements count: a function created
// inside a `do` block is conditional (auth.uid() is created only where none exists, and on Supabase
// the real one is used), so it is checked for existence only. Each overload (name and input argument
// types) is its own function: its last definition in migration order wins and a top-level `drop
// function` forgets it, as the database does.
//
// A column is proven by its type, as a top-level `create table` in schema public names it ("pg_catalog.int4",
// "text[]"; type modifiers aside): the catalog query resolves that name as PostgreSQL would. The same
// statement gives the table's named check constraints and each column's foreign key with its on delete.
//
// A trigger is proven by its table, its firing (timing, events, row or statement, packed like
// pg_trigger.tgtype; a `when` condition; the columns an update must touch) and the function it
// executes, whose body is proven above.
import { createHash } from "node:crypto";
import { splitStatements } from "../migrate/statements";

export interface FunctionFingerprint {
    /** md5 hex of the body between the dollar quotes, as md5(pg_proc.prosrc) prints it. */
    bodyMd5: string;
    securityDefiner: boolean;
    /** pg_proc.provolatile: i, s or v (the default). Absent in state written before it was recorded. */
    volatility?: string;
    /** The migration file that defines it last. */
    migration: string;
}

export interface TriggerDefinition {
    /** Unqualified table name (schema public). */
    table: string;
    /** pg_trigger.tgtype: row 1, before 2, insert 4, delete 8, update 16, truncate 32, instead of 64. */
    tgtype: number;
    /** Qualified name of the trigger function, e.g. "public.update_updated_at_column". */
    function: string;
    /** It has a `when (...)` condition. Absent in state written before it was recorded: none. */
    when?: boolean;
    /** `update of <columns>`: it fires only for updates of these. Absent in state written before it was recorded: none. */
    columns?: string[];
    migration: string;
}

export interface Fingerprints {
    /**
     * Keyed by qualified name and input argument types (functionKey), e.g. "public.close_session(uuid,text)": each overload
     * has its own. State written before it was keyed by name alone ("public.close_session").
     */
    functions: Record<string, FunctionFingerprint>;
    /** Keyed by trigger name. */
    triggers: Record<string, TriggerDefinition>;
    /** Per table, per column: its type name and the migration that creates it. Absent in state written before it was recorded. */
    columns?: Record<string, Record<string, { type: string; migration: string }>>;
    /** Named check constraints and column foreign keys of those tables. Absent in state written before they were recorded. */
    constraints?: ConstraintDefinition[];
}

export interface ConstraintDefinition {
    table: string;
    /** The check's name; for a foreign key "<column> → <referenced table>". */
    name: string;
    kind: "check" | "foreign key";
    /** Foreign keys: pg_constraint.confdeltype, a (no action, the default), r, c, n or d. */
    onDelete?: string;
    migration: string;
}

type Node = Record<string, unknown>;

/** What the migrations define last, in migration order: a top-level drop forgets what came before, as the database does. */
export async function fingerprintMigrations(migrations: readonly { name: string; sql: string }[]): Promise<Fingerprints> {
    const result: Required<Fingerprints> = { functions: {}, triggers: {}, columns: {}, constraints: [] };
    for (const migration of migrations) {
        for (const { kind, node } of await splitStatements(migration.sql)) {
            if (kind === "CreateFunctionStmt") {
                const fingerprint = functionFingerprint(node, migration.name);
                if (fingerprint) {
                    const inputs = ((node.parameters ?? []) as Node[])
                        .map((parameter) => parameter.FunctionParameter as Node)
                        .filter((parameter) => !["FUNC_PARAM_OUT", "FUNC_PARAM_TABLE"].includes(String(parameter.mode)))
                        .map((parameter) => parameter.argType as Node);
                    result.functions[functionKey(node.funcname, inputs)] = fingerprint;
                }
            } else if (kind === "CreateStmt" && [undefined, "public"].includes((node.relation as Node).schemaname as string | undefined)) {
                readTable(result, node, migration.name);
            } else if (kind === "CreateTrigStmt") {
                const relation = node.relation as { schemaname?: string; relname: string };
                result.triggers[String(node.trigname)] = {
                    table: relation.relname,
                    // pg_trigger.tgtype packs row (1) with the timing and event bits the parser already gives.
                    tgtype: (node.row === true ? 1 : 0) | Number(node.timing ?? 0) | Number(node.events ?? 0),
                    function: qualify(names(node.funcname)),
                    when: node.whenClause !== undefined,
                    columns: node.columns === undefined ? [] : names(node.columns),
                    migration: migration.name,
                };
            } else if (kind === "DropStmt" && node.removeType === "OBJECT_FUNCTION") {
                for (const object of (node.objects as Node[]).map((item) => item.ObjectWithArgs as Node)) {
                    const name = qualify(names(object.objname));
                    const inputs = ((object.objargs ?? []) as Node[]).map((type) => type.TypeName as Node);
                    // `drop function f` without parentheses names the only function of that name.
                    const dropped = object.args_unspecified
                        ? Object.keys(result.functions).filter((key) => key.startsWith(`${name}(`))
                        : [functionKey(object.objname, inputs)];
                    dropped.forEach((key) => delete result.functions[key]);
                }
            } else if (kind === "DropStmt" && node.removeType === "OBJECT_TRIGGER") {
                for (const object of node.objects as Node[]) {
                    delete result.triggers[names((object.List as Node).items).at(-1)!];
                }
            }
        }
    }
    return result;
}

/** The body as PostgreSQL stores it (pg_proc.prosrc); undefined for a `begin atomic` body, which has none. */
function functionFingerprint(node: Node, migration: string): FunctionFingerprint | undefined {
    const options = ((node.options ?? []) as Node[]).map((option) => option.DefElem as Node);
    const as = options.find((option) => option.defname === "as");
    if (as === undefined) {
        return undefined;
    }
    const [body] = names(((as.arg as Node).List as Node).items);
    const security = options.find((option) => option.defname === "security");
    const volatility = options.find((option) => option.defname === "volatility");
    return {
        bodyMd5: createHash("md5").update(body, "utf8").digest("hex"),
        securityDefiner: (security?.arg as { Boolean?: { boolval?: boolean } } | undefined)?.Boolean?.boolval === true,
        volatility: volatility === undefined ? "v" : (volatility.arg as { String: { sval: string } }).String.sval[0],
        migration,
    };
}

/** A top-level `create table` in public: its columns' types, named checks and column foreign keys, replacing what an earlier one said. */
function readTable(result: Required<Fingerprints>, node: Node, migration: string): void {
    const table = String((node.relation as Node).relname);
    const columns: Record<string, { type: string; migration: string }> = {};
    const constraints = result.constraints.filter((known) => known.table !== table);
    for (const element of (node.tableElts ?? []) as Node[]) {
        const column = element.ColumnDef as { colname: string; typeName: Node; constraints?: Node[] } | undefined;
        if (column !== undefined) {
            columns[column.colname] = { type: typeName(column.typeName), migration };
        }
        const own = element.Constraint === undefined ? (column?.constraints ?? []) : [element];
        for (const constraint of own.map((c) => c.Constraint as Node)) {
            if (constraint.contype === "CONSTR_CHECK" && constraint.conname !== undefined) {
                constraints.push({ table, name: String(constraint.conname), kind: "check", migration });
            } else if (constraint.contype === "CONSTR_FOREIGN" && column !== undefined) {
                const references = String((constraint.pktable as Node).relname);
                constraints.push({
                    table,
                    name: `${column.colname} → ${references}`,
                    kind: "foreign key",
                    onDelete: String(constraint.fk_del_action ?? "a"),
                    migration,
                });
            }
        }
    }
    result.columns[table] = columns;
    result.constraints = constraints;
}

/** "pg_catalog.numeric", "text[]": what to_regtype() resolves to the column's type, its modifiers aside. */
function typeName(node: Node): string {
    return names(node.names).join(".") + (node.arrayBounds === undefined ? "" : "[]");
}

/** The strings of a parser name list, e.g. [{String: {sval: "public"}}, {String: {sval: "f"}}] → ["public", "f"]. */
function names(list: unknown): string[] {
    return (list as { String: { sval: string } }[]).map((item) => item.String.sval);
}

/**
 * "public.embedding_search(text,jsonb,int4,uuid,int4,bool)": the function's name and its input arguments' types as pg_type
 * names them, without their schema, an array as "<element>[]" (what catalog.ts reads as a function's `arguments`).
 */
function functionKey(name: unknown, inputs: Node[]): string {
    const types = inputs.map((type) => names(type.names).at(-1)! + (type.arrayBounds === undefined ? "" : "[]"));
    return `${qualify(names(name))}(${types.join(",")})`;
}

/** The fingerprint of the function `name` ("public.f") with these input argument types (functionKey's); by name alone in older state. */
export function expectedFunction(fingerprints: Fingerprints, name: string, argumentTypes: string): FunctionFingerprint | undefined {
    return fingerprints.functions[`${name}(${argumentTypes})`] ?? fingerprints.functions[name];
}

/** "schema.name"; an unqualified name is in public. */
function qualify(parts: string[]): string {
    return parts.length === 1 ? `public.${parts[0]}` : parts.join(".");
}
