// Steps: one migration run as several short transactions (or none) instead of one long one, so a
// change to a big table never holds a lock the application waits on for more than a moment. A
// migration declares them with a comment line between its statements (docs/migrations.md):
//
//   -- step: <name> [transaction | no transaction | batched]
//
//   transaction     (the default) the step's statements and its ledger row commit together
//   no transaction  each statement runs alone, outside any transaction (create index concurrently);
//                   every statement must be safe to run again
//   batched         one statement repeated, each run its own short transaction, until it returns no
//                   row; it gets the last key the previous run returned as $1 (null the first time)
//                   and the number of rows to take as $2 (the engine sizes batches to stay short)
//
// A `no transaction` or `batched` step may begin with a `select` of one value, its guard: 0, false
// or null means the step has nothing to do here. In a batched step that number is also the total
// the progress is counted against. Pure: statements in (engine/migrate/statements.ts), steps out.
import type { Statement } from "./statements";

export type StepKind = "transaction" | "no transaction" | "batched";

export interface Step {
    name: string;
    kind: StepKind;
    /** 1-based line of the `-- step:` marker. */
    line: number;
    /** The leading `select` of a `no transaction` or `batched` step: nothing to do when it returns 0, false or null. */
    guard?: Statement;
    /** The statements to run, in order; a batched step has exactly one, the batch. */
    statements: Statement[];
}

const MARKER = /^--\s*step\s*:(.*)$/;
/** Found on every line with a marker (and on some without). */
const MAYBE_MARKER = /--\s*step\s*:/g;
const NAME = /^[a-z][a-z0-9_]{0,62}$/;
const KINDS: readonly StepKind[] = ["transaction", "no transaction", "batched"];

export class StepDeclarationError extends Error {
    constructor(file: string, line: number, problem: string) {
        super(`${file} line ${line}: ${problem}; nothing was run (docs/migrations.md says how a migration declares steps)`);
        this.name = "StepDeclarationError";
    }
}

/** The steps `sql` declares, or undefined for a file without `-- step:` markers (it runs in one transaction). */
export function declaredSteps(file: string, sql: string, statements: Statement[]): Step[] | undefined {
    const markers = stepMarkers(file, sql, statements);
    if (markers.length === 0) {
        const loner = statements.find((statement) => statement.outsideTransaction);
        if (loner) {
            throw new StepDeclarationError(
                file,
                loner.line,
                `"${firstLine(loner)}" cannot run inside a transaction; put it in a step of its own: -- step: <name> no transaction`,
            );
        }
        return undefined;
    }
    const before = statements.find((statement) => statement.offset < markers[0].offset);
    if (before) {
        throw new StepDeclarationError(
            file,
            before.line,
            "a statement before the first `-- step:` marker; every statement belongs to a step",
        );
    }
    const seen = new Set<string>();
    return markers.map((marker, index) => {
        if (seen.has(marker.name)) {
            throw new StepDeclarationError(file, marker.line, `two steps are named ${marker.name}; give each its own name`);
        }
        seen.add(marker.name);
        const end = markers[index + 1]?.offset ?? Infinity;
        const own = statements.filter((statement) => statement.offset > marker.offset && statement.offset < end);
        return checkStep(file, { name: marker.name, kind: marker.kind, line: marker.line, statements: own });
    });
}

interface Marker {
    name: string;
    kind: StepKind;
    line: number;
    offset: number;
}

/** `-- step:` comment lines between statements; a marker inside a statement (a function body) is refused. */
function stepMarkers(file: string, sql: string, statements: Statement[]): Marker[] {
    const markers: Marker[] = [];
    let line = 1;
    let counted = 0;
    let end = -1;
    // Only the lines with a possible marker are looked at, each once.
    for (const candidate of sql.matchAll(MAYBE_MARKER)) {
        if (candidate.index < end) continue;
        const start = sql.lastIndexOf("\n", candidate.index) + 1;
        end = sql.indexOf("\n", candidate.index);
        if (end === -1) end = sql.length;
        const text = sql.slice(start, end);
        const match = MARKER.exec(text.trim());
        if (!match) continue;
        for (let at = sql.indexOf("\n", counted); at !== -1 && at < start; at = sql.indexOf("\n", at + 1)) {
            line += 1;
            counted = at + 1;
        }
        const at = start + text.indexOf("--");
        if (statements.some((statement) => at > statement.offset && at < statement.offset + statement.text.length)) {
            throw new StepDeclarationError(file, line, "a `-- step:` marker inside a statement; markers go between statements");
        }
        const [name, ...rest] = match[1].trim().split(/\s+/);
        const kind = rest.length === 0 ? "transaction" : (rest.join(" ") as StepKind);
        if (name === undefined || !NAME.test(name)) {
            throw new StepDeclarationError(file, line, `step name ${JSON.stringify(name ?? "")} must be lowercase letters, digits and _`);
        }
        if (!KINDS.includes(kind)) {
            throw new StepDeclarationError(file, line, `step ${name}: unknown kind ${JSON.stringify(kind)}; one of ${KINDS.join(", ")}`);
        }
        markers.push({ name, kind, line, offset: at });
    }
    return markers;
}

function checkStep(file: string, step: Step): Step {
    const { name, kind, statements } = step;
    if (statements.length === 0) {
        throw new StepDeclarationError(file, step.line, `step ${name} has no statement`);
    }
    if (kind === "transaction") {
        const loner = statements.find((statement) => statement.outsideTransaction);
        if (loner) {
            throw new StepDeclarationError(
                file,
                loner.line,
                `step ${name}: "${firstLine(loner)}" cannot run inside a transaction; declare the step "no transaction"`,
            );
        }
        return step;
    }
    const [first, ...rest] = statements;
    const guarded = first.kind === "SelectStmt" && rest.length > 0;
    const guard = guarded ? first : undefined;
    const body = guarded ? rest : statements;
    if (kind === "batched") {
        const [batch] = body;
        if (body.length !== 1 || !returnsRows(batch)) {
            throw new StepDeclarationError(
                file,
                step.line,
                `batched step ${name} needs one batch statement that returns the keys it handled (a select, or insert/update/delete … returning), after an optional select of the number of rows to do`,
            );
        }
        const used = parameters(batch);
        if (used.some((number) => number !== 1 && number !== 2) || (used.includes(2) && !used.includes(1))) {
            throw new StepDeclarationError(
                file,
                batch.line,
                `batched step ${name}: the batch may use $1 (the last key of the previous batch) and $2 (the rows to take, with $1), no other parameter`,
            );
        }
    } else {
        for (const statement of body.filter((s) => s.kind === "IndexStmt" && s.node.concurrent === true)) {
            if (statement.node.if_not_exists !== true || typeof statement.node.idxname !== "string") {
                throw new StepDeclarationError(
                    file,
                    statement.line,
                    `step ${name}: create index concurrently needs a name and "if not exists", so a build that was cut off can be found and run again`,
                );
            }
        }
    }
    return { ...step, guard, statements: body };
}

function returnsRows(statement: Statement): boolean {
    if (statement.kind === "SelectStmt") return true;
    return ["InsertStmt", "UpdateStmt", "DeleteStmt"].includes(statement.kind) && Array.isArray(statement.node.returningList);
}

/** The $n parameter numbers a statement uses. */
export function parameters(statement: Statement): number[] {
    const found = new Set<number>();
    const visit = (value: unknown): void => {
        if (Array.isArray(value)) {
            value.forEach(visit);
        } else if (value !== null && typeof value === "object") {
            const param = (value as { ParamRef?: { number?: number } }).ParamRef;
            if (param) found.add(param.number ?? 0);
            Object.values(value).forEach(visit);
        }
    };
    visit(statement.node);
    return [...found].sort((a, b) => a - b);
}

function firstLine(statement: Statement): string {
    return statement.text.split("\n")[0].trim();
}
