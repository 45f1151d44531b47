// Verification does not take a name for the stack's object: a recorded name that someone else created
// again (another oid than the one recorded, engine/migrate/identity.ts) is a problem, even when the
// object there has the stack's definition. Roles, schemas and extensions are the exception, as
// everywhere: an application's one under the stack's name is used as it is.
import type { SqlClient } from "../db/client";
import { REUSED_REASON, REUSED_SQL, SHARED_KINDS } from "../migrate/identity";
import type { ObjectKind as RecordedKind } from "../migrate/snapshot";
import type { Problem } from "./report";

export const NOT_THE_STACKS =
    `not the stack's: ${REUSED_REASON}. The stack never takes over an object it did not create: rename or drop it, ` +
    "then `memory-stack apply --repair` (or `pulumi refresh` and `pulumi up`) creates the stack's again";

/** One problem per recorded name someone else created again; `recorded`: whether memory_stack.created_objects exists. */
export async function reusedProblems(client: SqlClient, recorded: boolean): Promise<Problem[]> {
    if (!recorded) {
        return [];
    }
    const result = await client.query<{ identity: string; kind: RecordedKind }>(REUSED_SQL);
    return result.rows
        .filter((row) => !SHARED_KINDS.has(row.kind))
        .map((row) => ({ kind: row.kind, name: row.identity.slice(row.kind.length + 1), issue: NOT_THE_STACKS }));
}
