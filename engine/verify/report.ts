// One message for everything that is wrong: each missing or broken object by kind and name, each
// failed behaviour check by what it proves, and what to do. Used as the `pulumi up` error, the
// CLI's output and the test expectations alike.

export type ObjectKind =
    | "extension"
    | "table"
    | "column"
    | "view"
    | "function"
    | "trigger"
    | "index"
    | "policy"
    | "rls"
    | "role"
    | "privilege"
    // recorded kinds a reused name can be (ownership.ts)
    | "materialized view"
    | "sequence"
    | "foreign table"
    | "type"
    | "domain"
    | "constraint"
    | "schema";

export interface Problem {
    /** What kind of thing is wrong; "check" for a behaviour check. */
    kind: ObjectKind | "check";
    /** The object, e.g. "sessions.idx_sessions_status", or the check's sentence. */
    name: string;
    /** What is wrong with it, e.g. "missing" or "body differs from 0005_functions_triggers.sql". */
    issue: string;
}

export interface SkippedCheck {
    name: string;
    /** Why it did not run, e.g. "needs table sessions, which is missing". */
    reason: string;
}

/** Counts of the objects found as expected, per kind; "functions" and "triggers" are the seed's four each. */
export interface ObjectCounts {
    extensions: number;
    tables: number;
    columns: number;
    views: number;
    functions: number;
    otherFunctions: number;
    triggers: number;
    otherTriggers: number;
    indexes: number;
    policies: number;
    rlsTables: number;
}

export interface VerificationReport {
    ok: boolean;
    variant: string;
    /** memory_stack.migrations exists: the schema was applied here at some point. */
    applied: boolean;
    problems: Problem[];
    skipped: SkippedCheck[];
    counts: ObjectCounts;
    /** Behaviour checks that ran and passed. */
    checksPassed: number;
    durationMs: number;
    /** ISO time the verification finished. */
    checkedAt: string;
    roundTrips: { catalog: number; functional: number };
}

/** One problem in one line: "index sessions.idx_sessions_status: missing", "check failed: …: …". */
export function describeProblem(problem: Problem): string {
    return problem.kind === "check"
        ? `check failed: ${problem.name}: ${problem.issue}`
        : `${problem.kind} ${problem.name}: ${problem.issue}`;
}

/** `pending`: migrations of this program the database has not had yet (with no drift), which is what its missing objects are. */
export function formatReport(report: VerificationReport, pending: readonly string[] = []): string {
    if (report.ok) {
        const c = report.counts;
        return (
            `memory schema verified (${report.variant}): ${c.tables} tables, ${c.views} views, ${c.functions} seed functions ` +
            `(+${c.otherFunctions} more), ${c.triggers} seed triggers (+${c.otherTriggers} more), ${c.indexes} indexes, ${c.policies} policies, ` +
            `${report.checksPassed} behaviour checks passed in ${report.durationMs} ms`
        );
    }
    const header = `memory schema verification failed (${report.variant}): ${report.problems.length} problem(s)`;
    if (!report.applied) {
        // No ledger: what to do is the whole message, not the list of every missing object. Objects of the schema's names
        // that are here anyway are someone else's (an application's users or sessions), not drift from recorded migrations.
        return [
            header,
            "What to do: the memory schema was never applied to this database (there is no memory_stack.migrations): " +
                "run `pulumi up` (the schema resource applies it) or `memory-stack apply`, then verify again.",
            report.counts.tables === 0
                ? `  every object of the schema is missing (${report.problems.length} problems; --json lists them)`
                : `  ${report.problems.length} problems (--json lists them); some of the schema's names exist here already, not created by ` +
                  "memory-stack: `memory-stack plan` lists any that would make apply refuse",
        ].join("\n");
    }
    const lines = [header];
    for (const problem of report.problems) {
        lines.push(`  - ${describeProblem(problem)}`);
    }
    if (report.skipped.length > 0) {
        lines.push(`  not run, because what they exercise is broken above: ${report.skipped.map((s) => s.name).join("; ")}`);
    }
    const onlyAccess = report.problems.every((problem) => problem.kind === "privilege" || problem.kind === "role");
    // With migrations pending, the grants named may be on objects not created yet: apply first (it grants too).
    if (pending.length === 0 && report.problems.some((problem) => problem.kind === "privilege" || problem.kind === "role")) {
        lines.push(
            "What to do about the roles: the schema is in place, but the roles listed cannot use it (or can do more than they may) as deployed. " +
                "Run the statements given above, or let the stack grant them: `pulumi up` (its Grants component) grants them all; " +
                "`memory-stack apply` grants on what the schema created, not on an application's own users table, whose privileges its owner grants. " +
                "Then verify again.",
        );
    }
    if (pending.length > 0) {
        lines.push(
            `What to do: ${pending.length === 1 ? "a migration" : `${pending.length} migrations`} of this memory-stack ` +
                `${pending.length === 1 ? "is" : "are"} not applied to this database yet (${pending.join(", ")}): ` +
                "run `memory-stack apply` (or `pulumi up`), then verify again.",
        );
        return lines.join("\n");
    }
    if (onlyAccess) {
        return lines.join("\n");
    }
    lines.push(
        "What to do: the database no longer matches the migrations recorded in memory_stack.migrations " +
            "(someone changed it by hand, or an apply was interrupted outside the engine). Recreate what is listed from its " +
            "file in sql/ (each object's migration is named where known), or run `pulumi refresh` and then `pulumi up` " +
            "(without Pulumi: `memory-stack apply --repair`), which re-creates missing objects from their migrations; " +
            "then run `pulumi up` (or `memory-stack verify`) again.",
    );
    return lines.join("\n");
}

export class VerificationFailedError extends Error {
    constructor(readonly report: VerificationReport) {
        super(formatReport(report));
        this.name = "VerificationFailedError";
    }
}
