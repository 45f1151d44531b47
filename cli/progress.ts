// Progress lines for stderr: what a migration that runs in steps reports (engine/migrate/step-runner.ts),
// and what the server says along the way (NOTICEs such as pgvector's "hnsw graph no longer fits into
// maintenance_work_mem"). Rows of a batched step are printed at most once a second, and when done.
import type { Client } from "pg";
import type { StepEvent } from "../engine/migrate/step-runner";

const ROWS_EVERY_MS = 1_000;

/** A function that turns step events into lines for `print`. */
export function stepProgress(print: (line: string) => void, now: () => number = Date.now): (event: StepEvent) => void {
    const lastRows = new Map<string, number>();
    return (event) => {
        const where = `  ${event.migration} ${event.step}`;
        switch (event.type) {
            case "step": {
                const what =
                    event.outcome === "done before"
                        ? "done in an earlier run"
                        : event.outcome === "nothing to do"
                          ? `nothing to do (${Math.round(event.durationMs)} ms)`
                          : `done in ${Math.round(event.durationMs)} ms`;
                print(`${where} (step ${event.index}/${event.total}, ${event.kind}): ${what}`);
                return;
            }
            case "rows": {
                const key = `${event.migration} ${event.step}`;
                const at = now();
                const finished = event.total !== undefined && event.done >= event.total;
                if (!finished && at - (lastRows.get(key) ?? -Infinity) < ROWS_EVERY_MS) return;
                lastRows.set(key, at);
                print(`${where}: ${count(event.done)}${event.total === undefined ? "" : `/${count(event.total)}`} rows`);
                return;
            }
            case "index memory": {
                const need = `${event.index} needs about ${event.neededMb} MB to build in memory (${count(event.rows)} rows × ${count(event.entryBytes)} bytes)`;
                print(
                    event.neededMb > event.settingMb
                        ? `${where}: ${need}; maintenance_work_mem is ${event.settingMb} MB, the bound: the build spills to disk and is slower. ` +
                              `Raise the bound with --maintenance-work-mem ${event.neededMb} (config migration.maintenanceWorkMemMb) if the server has the memory`
                        : `${where}: ${need}; maintenance_work_mem ${event.settingMb} MB for the build (bound ${event.boundMb} MB)`,
                );
                return;
            }
            case "invalid index dropped":
                print(`${where}: dropped the invalid index ${event.index} a cut-off build left; building it again`);
                return;
            case "serial index build":
                print(
                    `${where}: ${event.index}: the parallel build could not get shared memory (${event.reason}); building it without parallel workers`,
                );
                return;
        }
    };
}

// The "…, skipping" of idempotent DDL in any lc_messages (German: "…, wird übersprungen"): an "already exists" carries a
// duplicate-object SQLSTATE, a "does not exist" is raised by one of these server functions (PostgreSQL 15).
const ALREADY_EXISTS = new Set(["42P06", "42P07", "42701", "42710"]);
const DOES_NOT_EXIST = new Set([
    "does_not_exist_skipping",
    "DropErrorMsgNonExistent",
    "ATExecDropColumn",
    "ATExecDropConstraint",
    "DropRole",
    "ProcessUtilitySlow",
]);

/** Prints the server's notices, except the "…, skipping" of idempotent DDL (if exists / if not exists). */
export function passNotices(client: Pick<Client, "on">, print: (line: string) => void): void {
    client.on("notice", (notice) => {
        if (/, skipping$/.test(notice.message ?? "") || ALREADY_EXISTS.has(notice.code ?? "") || DOES_NOT_EXIST.has(notice.routine ?? ""))
            return;
        const extra = [notice.detail, notice.hint].filter((text) => text !== undefined && text !== "").join(" ");
        print(`  notice from the server: ${notice.message}${extra === "" ? "" : ` (${extra})`}`);
    });
}

function count(value: number): string {
    return value.toLocaleString("en-US");
}
