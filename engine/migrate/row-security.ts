// Row level security made to apply to the deployer after the preflight. The preflight refuses an apply where it applies on a
// memory table (a backfill there would see only the rows the policies show, and skip the rest without an error), but a step
// runs long after it, in transactions of its own: the table's owner may force row level security between two batches, and the
// next batch would find no row and record the backfill done. Checked in each step's commit round trip, before the commit: a
// statement that read or rewrote a table holds its lock until then, and FORCE or a new owner needs the table's strongest lock,
// so what the check sees of a table the step touched is what its statements ran under.
import { textArray } from "../db/literal";
import { MEMORY_TABLES } from "./manifest";

const MARKER = "memory_stack: row level security applies";

/**
 * SQL: the memory tables row level security applies to for the connecting role (`hidden`: public.name), with that role (`me`).
 * The preflight asks it before the first migration; ROW_SECURITY_CHECK again before each step's commit.
 */
export const HIDDEN_MEMORY_TABLES = `select pg_catalog.format('public.%I', t.name) as hidden, current_user as me
  from pg_catalog.unnest(${textArray(MEMORY_TABLES)}) as t(name)
 where pg_catalog.row_security_active(pg_catalog.to_regclass(pg_catalog.format('public.%I', t.name)))`;

/** What to do about `tables` (public.name) that row level security applies to for the deployer. */
export function applyAsOwner(tables: string[]): string {
    return `Apply as the table's owner with FORCE lifted (${tables.map((table) => `alter table ${table} no force row level security`).join("; ")}), or as a role with BYPASSRLS`;
}

/** A statement that fails the transaction, with MARKER, when row level security applies to the connecting role on a memory table. */
export const ROW_SECURITY_CHECK = `do $memory_stack$
declare
    hidden text;
begin
    select pg_catalog.string_agg(h.hidden, ', ' order by h.hidden) into hidden from (${HIDDEN_MEMORY_TABLES}) h;
    if hidden is not null then
        raise exception '${MARKER}' using errcode = 'insufficient_privilege', detail = hidden, hint = current_user;
    end if;
end
$memory_stack$`;

export class RowSecurityAppliedError extends Error {
    constructor(
        readonly role: string,
        readonly tables: string[],
        what: string,
        outcome: string,
    ) {
        super(
            `${what}: row level security applies to ${role} on ${tables.join(", ")} since the apply began (the table forces it on its owner now, ` +
                `or ${role} no longer owns it), so its statements would miss the rows the policies hide. ${outcome}\n${applyAsOwner(tables)}.`,
        );
        this.name = "RowSecurityAppliedError";
    }
}

/** The RowSecurityAppliedError for an `error` that ROW_SECURITY_CHECK raised; undefined for any other. */
export function rowSecurityApplied(error: unknown, what: string, outcome: string): RowSecurityAppliedError | undefined {
    const { message, detail, hint } = error as { message?: string; detail?: string; hint?: string };
    if (message !== MARKER || detail === undefined || hint === undefined) {
        return undefined;
    }
    return new RowSecurityAppliedError(hint, detail.split(", "), what, outcome);
}
