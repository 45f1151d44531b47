// Which statements PostgreSQL refuses inside a transaction block (its PreventInTransactionBlock), told from the parse tree
// alone; the build stores the answer with each statement of the shipped SQL (parsed-at-build.ts). Where a table's kind decides
// (cluster or reindex of a partitioned table) or a subscription's options, the statement fails when it runs, naming the file
// and its line, as any other failure does.
type Node = Record<string, unknown>;

/** Whether PostgreSQL refuses a statement of this kind (libpg-query's node type) and parse tree inside a transaction block. */
export function refusedInTransaction(kind: string, node: Node): boolean {
    switch (kind) {
        case "IndexStmt":
        case "DropStmt":
            return node.concurrent === true;
        case "ReindexStmt":
            // Every table of a schema, the system catalogs or the database, each in a transaction of its own.
            return (
                !["REINDEX_OBJECT_INDEX", "REINDEX_OBJECT_TABLE"].includes(String(node.kind)) || isOn(option(node.params, "concurrently"))
            );
        case "VacuumStmt":
            return node.is_vacuumcmd === true;
        case "ClusterStmt":
            return node.relation === undefined;
        case "AlterTableStmt":
            return ((node.cmds ?? []) as { AlterTableCmd?: Node }[]).some(
                ({ AlterTableCmd: cmd }) =>
                    cmd?.subtype === "AT_DetachPartition" &&
                    (cmd.def as { PartitionCmd?: Node } | undefined)?.PartitionCmd?.concurrent === true,
            );
        case "AlterDatabaseStmt":
            return option(node.options, "tablespace") !== undefined;
        case "DiscardStmt":
            return node.target === "DISCARD_ALL";
        default:
            return ["CreatedbStmt", "DropdbStmt", "CreateTableSpaceStmt", "DropTableSpaceStmt", "AlterSystemStmt"].includes(kind);
    }
}

/** The option `name` of a statement's option list (DefElem nodes). */
function option(options: unknown, name: string): Node | undefined {
    return ((options ?? []) as { DefElem?: Node }[]).find(({ DefElem: element }) => element?.defname === name)?.DefElem;
}

/** A boolean option as PostgreSQL reads it (defGetBoolean): on when written alone, as true/on, or as 1. */
function isOn(element: Node | undefined): boolean {
    if (element === undefined) {
        return false;
    }
    const arg = element.arg as { Integer?: { ival?: number }; String?: { sval?: string } } | undefined;
    return arg === undefined || arg.Integer?.ival === 1 || ["true", "on"].includes(String(arg.String?.sval).toLowerCase());
}
