// Databases migrated by releases 1 and 2: their ledger rows say which files ran, but nothing recorded
// what those files created (only the shared objects, in memory_stack.owned_objects), and those
// releases adopted same-named application objects silently. The adoption rule, applied once under
// the migration lock before anything else: an object is recorded as the stack's only when a file
// the ledger lists creates it (read from the file's own statements by PostgreSQL's parser) and it
// still matches that definition:
//   - a table: its columns are exactly the file's columns (names); its indexes named in the files
//     come with it;
//   - a view or function: its comment is the one the file sets (an application's view or function
//     of another shape kept its own comment, or none);
//   - a trigger or policy: it exists under that name on that table (those files replaced any older
//     one, so what is there now is the stack's);
//   - users, its memory columns, extensions, the auth schema, auth.uid() and roles: the rows of
//     memory_stack.owned_objects, which those releases did record.
// Anything else with a memory name is not the stack's: rollback keeps it, preflight names it.
import type { SqlClient } from "../db/client";
import { LEDGER_SCHEMA, LEDGER_TABLE, type LedgerRow } from "./ledger";
import { insertRecords } from "./ownership";
import { FUNCTION_ARGUMENTS, snapshot, type CatalogObject } from "./snapshot";
import type { MigrationFile } from "./plan";
import { splitStatements } from "./statements";

interface Candidate {
    migration: string;
    kind: "table" | "index" | "view" | "function" | "trigger" | "policy";
    schema: string;
    name: string;
    parent: string | null;
    /** Tables: the file's column names. */
    columns?: string[];
}

/**
 * Records what `migrations` (the legacy rows' files, rendered as they were applied) created, by the
 * rule above, and marks those rows recorded. Runs inside the caller's transaction, ledger upgraded.
 */
export async function adoptLegacy(client: SqlClient, rows: LedgerRow[], migrations: MigrationFile[]): Promise<CatalogObject[]> {
    const files = migrations.filter((migration) => rows.some((row) => row.name === migration.name));
    const { candidates, comments } = await readFiles(files);
    const present = await snapshot(client);
    const byKey = new Map([...present.values()].map((object) => [key(object.kind, object.schema, object.parent, object.name), object]));
    const describedAs = await currentComments(client, candidates);
    const adopted: { migration: string; object: CatalogObject }[] = [];
    const adoptedTables = new Set<string>();

    for (const candidate of candidates) {
        const found: CatalogObject[] =
            candidate.kind === "function"
                ? [...present.values()].filter((o) => o.kind === "function" && o.schema === candidate.schema && o.name === candidate.name)
                : [byKey.get(key(candidate.kind, candidate.schema, candidate.parent, candidate.name))].filter((o) => o !== undefined);
        for (const object of found) {
            if (candidate.kind === "table") {
                const columns = [...present.values()]
                    .filter((o) => o.kind === "column" && o.schema === candidate.schema && o.parent === candidate.name)
                    .map((o) => o.name);
                if (!sameSet(columns, candidate.columns ?? [])) continue;
                adoptedTables.add(`${candidate.schema}.${candidate.name}`);
            }
            if (candidate.kind === "index" && !adoptedTables.has(`${candidate.schema}.${candidate.parent}`)) continue;
            if (candidate.kind === "view" || candidate.kind === "function") {
                const comment = describedAs.get(object.identity);
                if (comment === undefined || !comments.get(`${candidate.kind} ${candidate.schema}.${candidate.name}`)?.has(comment))
                    continue;
            }
            adopted.push({ migration: candidate.migration, object });
        }
    }
    // The files create the shared objects (roles, the auth schema, auth.uid(), extensions) first, in DO blocks.
    adopted.unshift(...(await sharedObjects(client, present, rows)));
    for (const file of files) {
        await insertRecords(
            client,
            file.name,
            adopted.filter((entry) => entry.migration === file.name).map((entry) => entry.object),
            true,
        );
    }
    await client.query(`update ${LEDGER_TABLE} set recorded = true where name = any($1)`, [rows.map((row) => row.name)]);
    return adopted.map((entry) => entry.object);
}

/** The objects the files' top-level statements create, in order, and the comments they set. */
async function readFiles(files: MigrationFile[]): Promise<{ candidates: Candidate[]; comments: Map<string, Set<string>> }> {
    const candidates: Candidate[] = [];
    const comments = new Map<string, Set<string>>();
    for (const file of files) {
        for (const statement of await splitStatements(file.sql)) {
            const node = statement.node as Record<string, never>;
            const add = (kind: Candidate["kind"], relation: RangeVar, name: string, parent: string | null, columns?: string[]) =>
                candidates.push({ migration: file.name, kind, schema: relation.schemaname ?? "public", name, parent, columns });
            switch (statement.kind) {
                case "CreateStmt": {
                    const relation = node.relation as RangeVar;
                    const elements = (node.tableElts as Record<string, Record<string, unknown>>[]) ?? [];
                    const columns = elements.filter((e) => e.ColumnDef).map((e) => String(e.ColumnDef.colname));
                    add("table", relation, relation.relname, null, columns);
                    for (const index of constraintIndexes(relation.relname, elements)) {
                        add("index", relation, index, relation.relname);
                    }
                    break;
                }
                case "IndexStmt":
                    add("index", node.relation as RangeVar, String(node.idxname), (node.relation as RangeVar).relname);
                    break;
                case "ViewStmt":
                    add("view", node.view as RangeVar, (node.view as RangeVar).relname, null);
                    break;
                case "CreateFunctionStmt": {
                    const [schema, name] = qualified(node.funcname as StringNode[]);
                    add("function", { schemaname: schema, relname: name }, name, null);
                    break;
                }
                case "CreateTrigStmt":
                    add("trigger", node.relation as RangeVar, String(node.trigname), (node.relation as RangeVar).relname);
                    break;
                case "CreatePolicyStmt":
                    add("policy", node.table as RangeVar, String(node.policy_name), (node.table as RangeVar).relname);
                    break;
                case "CommentStmt": {
                    const kind = { OBJECT_VIEW: "view", OBJECT_FUNCTION: "function" }[String(node.objtype)];
                    if (kind === undefined || typeof node.comment !== "string") break;
                    const object = node.object as { List?: { items: StringNode[] }; ObjectWithArgs?: { objname: StringNode[] } };
                    const [schema, name] = qualified(object.List?.items ?? object.ObjectWithArgs?.objname ?? []);
                    const slot = `${kind} ${schema}.${name}`;
                    comments.set(slot, (comments.get(slot) ?? new Set()).add(node.comment));
                    break;
                }
            }
        }
    }
    return { candidates, comments };
}

type RangeVar = { schemaname?: string; relname: string };
type StringNode = { String: { sval: string } };

function qualified(names: StringNode[]): [string, string] {
    const parts = names.map((part) => part.String.sval);
    return parts.length === 1 ? ["public", parts[0]] : [parts[0], parts[1]];
}

/** Index names a CREATE TABLE makes: <table>_pkey and its named unique constraints. */
function constraintIndexes(table: string, elements: Record<string, Record<string, unknown>>[]): string[] {
    const names = new Set<string>();
    const constraints = elements.flatMap((element) =>
        element.Constraint
            ? [element.Constraint]
            : ((element.ColumnDef?.constraints as { Constraint: Record<string, unknown> }[]) ?? []).map((c) => c.Constraint),
    );
    for (const constraint of constraints) {
        if (constraint.contype === "CONSTR_PRIMARY")
            names.add(typeof constraint.conname === "string" ? constraint.conname : `${table}_pkey`);
        if (constraint.contype === "CONSTR_UNIQUE" && typeof constraint.conname === "string") names.add(constraint.conname);
    }
    return [...names];
}

async function currentComments(client: SqlClient, candidates: Candidate[]): Promise<Map<string, string>> {
    const views = candidates.filter((c) => c.kind === "view").map((c) => `${c.schema}.${c.name}`);
    const functions = candidates.filter((c) => c.kind === "function").map((c) => `${c.schema}.${c.name}`);
    const result = await client.query<{ identity: string; comment: string | null }>(
        `select 'view ' || quote_ident(n.nspname) || '.' || quote_ident(c.relname) as identity, obj_description(c.oid, 'pg_class') as comment
           from pg_class c join pg_namespace n on n.oid = c.relnamespace where c.relkind = 'v' and n.nspname || '.' || c.relname = any($1)
         union all
         select 'function ' || quote_ident(n.nspname) || '.' || quote_ident(p.proname) || '(' || ${FUNCTION_ARGUMENTS} || ')',
                obj_description(p.oid, 'pg_proc')
           from pg_proc p join pg_namespace n on n.oid = p.pronamespace where n.nspname || '.' || p.proname = any($2)`,
        [views, functions],
    );
    return new Map(result.rows.filter((row) => row.comment !== null).map((row) => [row.identity, row.comment!]));
}

// What memory_stack.owned_objects (written by 0001, 0002, 0009, 0010 of those releases) lists, and that table itself.
async function sharedObjects(
    client: SqlClient,
    present: Map<string, CatalogObject>,
    rows: LedgerRow[],
): Promise<{ migration: string; object: CatalogObject }[]> {
    const exists = await client.query<{ found: boolean }>(`select to_regclass('${LEDGER_SCHEMA}.owned_objects') is not null as found`);
    const listed = exists.rows[0].found
        ? await client.query<{ kind: string; name: string }>(
              `select kind, name from ${LEDGER_SCHEMA}.owned_objects
                order by array_position(array['role', 'schema', 'extension', 'table', 'column', 'function'], kind), name`,
          )
        : { rows: [] };
    const applied = new Set(rows.map((row) => row.name));
    const find = (kind: string, schema: string | null, parent: string | null, name: string) =>
        [...present.values()].find((o) => o.kind === kind && o.schema === schema && o.parent === parent && o.name === name);
    const entries: { migration: string; object: CatalogObject | undefined }[] = [
        { migration: "0001_foundation.sql", object: find("table", LEDGER_SCHEMA, null, "owned_objects") },
        { migration: "0001_foundation.sql", object: find("index", LEDGER_SCHEMA, "owned_objects", "owned_objects_pkey") },
    ];
    for (const { kind, name } of listed.rows) {
        if (kind === "extension") {
            entries.push({
                migration: name === "vector" ? "0010_vector.sql" : "0001_foundation.sql",
                object: find("extension", null, null, name),
            });
        } else if (kind === "table") {
            entries.push({ migration: "0002_users.sql", object: find("table", "public", null, name) });
        } else if (kind === "column") {
            const [table, column] = name.split(".");
            entries.push({ migration: "0002_users.sql", object: find("column", "public", table, column) });
        } else if (kind === "schema") {
            entries.push({ migration: "0009_rls.sql", object: find("schema", null, null, name) });
        } else if (kind === "function") {
            const [schema, bare] = name.split(".");
            entries.push({ migration: "0009_rls.sql", object: find("function", schema, null, bare) });
        } else if (kind === "role") {
            entries.push({ migration: "0009_rls.sql", object: find("role", null, null, name) });
        }
    }
    return entries.filter(
        (entry): entry is { migration: string; object: CatalogObject } => entry.object !== undefined && applied.has(entry.migration),
    );
}

function key(kind: string, schema: string | null, parent: string | null, name: string): string {
    return JSON.stringify([kind, schema, parent, name]);
}

function sameSet(a: string[], b: string[]): boolean {
    return a.length === b.length && a.every((item) => b.includes(item));
}
