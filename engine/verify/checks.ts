// Runs behaviour checks one after another inside the caller's transaction, each in a savepoint:
// a failing check is rolled back to its savepoint and reported, and the next one still runs.
// A check either keeps what it wrote (a fixture later checks read) or is always rolled back, so
// checks do not see each other's side effects. A check whose objects are already known broken,
// or whose fixture failed, is skipped with the reason instead of failing a second time.
import type { QueryResultRow } from "pg";
import type { SqlClient } from "../db/client";
import { describeError } from "../db/errors";
import type { Problem, SkippedCheck } from "./report";

/** A check's expectation that did not hold; its message is the report line. */
export class CheckFailed extends Error {}

export interface CheckOptions {
    /** Objects used, as the catalog comparison names them: "table sessions", "function public.close_session", "check <name>". */
    needs: string[];
    /** Keep the rows it wrote for later checks (a fixture); otherwise roll them back. Default: false. */
    keep?: boolean;
}

export class CheckRunner {
    readonly problems: Problem[] = [];
    readonly skipped: SkippedCheck[] = [];
    passed = 0;

    constructor(
        private readonly client: SqlClient,
        private readonly broken: Set<string>,
    ) {}

    /** Runs `body`; returns whether it passed (false when it failed or was skipped). */
    async check(name: string, options: CheckOptions, body: () => Promise<void>): Promise<boolean> {
        const missing = options.needs.find((need) => this.isBroken(need));
        if (missing !== undefined) {
            this.skipped.push({ name, reason: `needs ${missing}, which is missing or broken` });
            this.broken.add(`check ${name}`);
            return false;
        }
        await this.client.query("savepoint memory_stack_verify");
        try {
            await body();
            await this.client.query(options.keep ? "release savepoint memory_stack_verify" : "rollback to savepoint memory_stack_verify");
            this.passed++;
            return true;
        } catch (error) {
            await this.client.query("rollback to savepoint memory_stack_verify");
            this.problems.push({ kind: "check", name, issue: describeError(error) });
            this.broken.add(`check ${name}`);
            return false;
        }
    }

    async rows<T extends QueryResultRow>(sql: string, params: unknown[] = []): Promise<T[]> {
        return (await this.client.query<T>(sql, params)).rows;
    }

    async row<T extends QueryResultRow>(sql: string, params: unknown[] = []): Promise<T> {
        const rows = await this.rows<T>(sql, params);
        if (rows.length !== 1) {
            throw new CheckFailed(`expected one row, got ${rows.length}`);
        }
        return rows[0];
    }

    /** Runs `sql` in a nested savepoint: its rows, or the SQLSTATE it failed with (the failure undone). */
    async attempt<T extends QueryResultRow>(sql: string, params: unknown[] = []): Promise<{ rows?: T[]; code?: string }> {
        await this.client.query("savepoint memory_stack_verify_attempt");
        try {
            const { rows } = await this.client.query<T>(sql, params);
            await this.client.query("release savepoint memory_stack_verify_attempt");
            return { rows };
        } catch (error) {
            await this.client.query("rollback to savepoint memory_stack_verify_attempt");
            return { code: (error as { code?: string }).code ?? describeError(error) };
        }
    }

    /** Runs `sql` expecting it to fail with `sqlstate`; its failure is undone by a nested savepoint. */
    async expectError(sql: string, params: unknown[], sqlstate: string, what: string): Promise<void> {
        await this.client.query("savepoint memory_stack_verify_expect");
        try {
            await this.client.query(sql, params);
        } catch (error) {
            await this.client.query("rollback to savepoint memory_stack_verify_expect");
            const code = (error as { code?: string }).code;
            if (code !== sqlstate) {
                throw new CheckFailed(`${what}: expected SQLSTATE ${sqlstate}, got ${describeError(error)}`);
            }
            return;
        }
        await this.client.query("rollback to savepoint memory_stack_verify_expect");
        throw new CheckFailed(`${what}: it succeeded`);
    }

    // A table is as broken as its worst column.
    private isBroken(need: string): boolean {
        if (this.broken.has(need)) {
            return true;
        }
        const table = /^table (.+)$/.exec(need)?.[1];
        return table !== undefined && [...this.broken].some((item) => item.startsWith(`column ${table}.`));
    }
}

export function expect(condition: boolean, message: string): void {
    if (!condition) {
        throw new CheckFailed(message);
    }
}
