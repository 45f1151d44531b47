// Which Pulumi stack deployed a database's memory schema: memory_stack.migrations.stack, written with each ledger row
// the schema resource applies, and on the rows before it once its apply succeeds (the CLI writes null and checks
// nothing). Two stacks given one database (staging configured with prod's URL) each took the schema for their own,
// and the destroy of either rolled back the other's: an apply by another stack is refused, its rollback leaves it.
import type { SqlClient } from "../db/client";
import { ensureLedger, LEDGER_TABLE, type LedgerRow } from "./ledger";

/** The stacks the ledger names (one, unless edited by hand); empty: no stack deployed it, or the CLI alone. */
export function deployedBy(ledger: LedgerRow[]): string[] {
    return [...new Set(ledger.flatMap((row) => (row.stack === undefined ? [] : [row.stack])))].sort();
}

/** The stacks other than `stack` that the ledger names; `stack` null: a stack whose state predates stacks being recorded. */
export function otherStacks(ledger: LedgerRow[], stack: string | null): string[] {
    return deployedBy(ledger).filter((name) => name !== stack);
}

export class DeployedByOtherStackError extends Error {
    constructor(
        readonly stack: string,
        readonly others: string[],
    ) {
        super(
            `refusing to apply the memory schema: the schema in this database was deployed by stack ${others.join(", ")}, ` +
                `not by this stack (${stack}); nothing was changed. A database's memory schema belongs to one stack, and this ` +
                `stack's destroy would roll back the other's. Give this stack a database of its own (memory-stack:database, or ` +
                `another server). To move the schema to this stack instead, take it out of ${others.join(", ")}'s state ` +
                `(\`pulumi state delete\` its SchemaMigration there) and run \`update ${LEDGER_TABLE} set stack = null\` in this database.`,
        );
        this.name = "DeployedByOtherStackError";
    }
}

export function refuseOtherStack(ledger: LedgerRow[], stack: string | undefined): void {
    refuseOtherStacks(deployedBy(ledger), stack);
}

/** refuseOtherStack for the stacks a ledger names (deployedBy), as a caller that read them already has them. */
export function refuseOtherStacks(deployers: string[], stack: string | undefined): void {
    const others = deployers.filter((name) => name !== stack);
    if (stack !== undefined && others.length > 0) {
        throw new DeployedByOtherStackError(stack, others);
    }
}

/** Names `stack` on the ledger rows that name none (a ledger of an older release, or rows the CLI applied); nothing when none lack it. */
export async function claimForStack(client: SqlClient, ledger: LedgerRow[], stack: string): Promise<void> {
    if (ledger.every((row) => row.stack !== undefined)) {
        return;
    }
    await ensureLedger(client);
    await client.query(`update ${LEDGER_TABLE} set stack = $1 where stack is null`, [stack]);
}

/** What a rollback by a stack that did not deploy the schema says it left. */
export function describeLeftInPlace(others: string[], stack: string | null): string {
    const self = stack === null ? "this stack's state, written before stacks were recorded, names none" : `not by this stack (${stack})`;
    return (
        `left the memory schema in place: it was deployed by stack ${others.join(", ")}, ${self}; nothing was dropped. ` +
        `This stack's grants on it were revoked before it: where they named that stack's roles, \`memory-stack apply\` with ` +
        `its roles grants them again. Destroy the schema from ${others.join(", ")}, or, if it is this stack's to remove, ` +
        "run memory-stack rollback on this database."
    );
}
