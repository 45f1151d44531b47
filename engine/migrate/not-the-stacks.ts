// What a memory schema migration's transaction created that its statements did not. An application's event trigger
// (`on ddl_command_end`, as audit tools and Supabase have) runs inside that transaction, so what it creates has the
// migration's xmin, and PostgreSQL keeps no trace of which statement or trigger made a catalog row. Two rules tell it
// apart without running anything: the migrations create objects (and schemas) in MEMORY_SCHEMAS only, and every object they create
// in public is named in the file's text, but for the implicit parts of a table (a constraint's index, a column's
// sequence, a constraint a column definition adds). So in public, an object whose name the file never mentions is not
// the stack's (an audit table, an audit trigger or index on a memory table, an index on the application's users), nor
// is any part of a table that is not the stack's; an implicit part of the stack's tables stays the stack's. Comments
// count as mentions: a name told apart wrongly is recorded, as before.
import type { CatalogObject } from "./snapshot";

/** The schemas the memory schema's migrations create objects in. */
const MEMORY_SCHEMAS: ReadonlySet<string> = new Set(["public", "memory_stack", "auth"]);

/** The memory schema's migration whose transaction is read: its file, and where to say what is not recorded. */
export interface MemoryMigration {
    sql: string;
    session: { report(line: string): void };
}

/**
 * The objects of `written` (created by `migration`'s transaction) that are not the stack's, said on the session;
 * `stackTables`: the tables recorded as the stack's already, as "schema.name".
 */
export function notTheStacks(
    migration: string,
    memory: MemoryMigration,
    written: CatalogObject[],
    stackTables: ReadonlySet<string>,
    after: Iterable<CatalogObject>,
): CatalogObject[] {
    const names = mentionedIn(memory.sql);
    const whole = written.filter((object) =>
        object.schema === null
            ? object.kind === "schema" && !MEMORY_SCHEMAS.has(object.name)
            : !MEMORY_SCHEMAS.has(object.schema) || (object.schema === "public" && object.parent === null && !names.has(object.name)),
    );
    const theirs = new Set(whole.filter((object) => object.kind === "table").map((object) => `${object.schema}.${object.name}`));
    const tables = new Set([
        ...stackTables,
        ...written
            .filter((object) => object.kind === "table" && !whole.includes(object))
            .map((object) => `${object.schema}.${object.name}`),
    ]);
    // A primary key's or unique constraint's index has the constraint's name.
    const constraints = new Set(
        [...after].filter((object) => object.kind === "constraint").map((object) => `${object.schema}.${object.parent}.${object.name}`),
    );
    const implicit = (object: CatalogObject) =>
        ["column", "constraint", "sequence"].includes(object.kind) ||
        (object.kind === "index" && constraints.has(`${object.schema}.${object.parent}.${object.name}`));
    const parts = written.filter(
        (object) =>
            object.schema === "public" &&
            object.parent !== null &&
            (theirs.has(`public.${object.parent}`) ||
                (!names.has(object.name) && !(implicit(object) && tables.has(`public.${object.parent}`)))),
    );
    const not = [...whole, ...parts];
    if (not.length > 0) {
        memory.session.report(
            `${migration}: not recorded as the stack's, so rollback leaves them: ${not.map((object) => object.identity).join(", ")}, created in its ` +
                `transaction outside the schemas the memory schema creates in (${[...MEMORY_SCHEMAS].join(", ")}), or in public under a name the file ` +
                "never mentions, by an event trigger or a trigger of the application's",
        );
    }
    return not;
}

let last: { sql: string; names: Set<string> } | undefined;

/**
 * Every word of `sql` as an unquoted identifier means it (lower case), and every quoted identifier; comments and strings
 * included. Each also as PostgreSQL cuts a longer name, to 63 characters.
 */
export function mentionedIn(sql: string): Set<string> {
    if (last?.sql !== sql) {
        const words = (sql.match(/[\p{L}_][\p{L}\p{N}_$]*/gu) ?? []).map((word) => word.toLowerCase());
        const quoted = [...sql.matchAll(/"((?:[^"]|"")+)"/g)].map((match) => match[1].replace(/""/g, '"'));
        last = { sql, names: new Set([...words, ...quoted].flatMap((name) => [name, name.slice(0, 63)])) };
    }
    return last.names;
}
