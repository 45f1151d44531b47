// psql run synchronously: a test's way to commit in another session from a callback the engine does not await
// (onProgress, onEvent), so the engine cannot move meanwhile. Nothing else in this process can either: were the
// statement to wait for a lock this process holds, or for a server that does not answer, it would wait forever,
// and no test timeout could fire. Hence its bounds: lock_timeout, connect_timeout, and a deadline for psql itself.
import { spawnSync } from "node:child_process";

export const PSQL_NOW_DEADLINE_MS = 30_000;

/** Runs `sql` with psql on `url` and returns once it committed; throws with psql's error (never the URL) otherwise. */
export function psqlNow(url: string, sql: string): void {
    const run = spawnSync("psql", ["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url, "-c", sql], {
        encoding: "utf8",
        timeout: PSQL_NOW_DEADLINE_MS,
        env: { ...process.env, PGOPTIONS: "-c lock_timeout=5s", PGCONNECT_TIMEOUT: "10" },
    });
    if (run.status !== 0) {
        const ended = run.signal ? `killed (${run.signal}) after ${PSQL_NOW_DEADLINE_MS / 1000} s` : `failed (exit ${run.status})`;
        throw new Error(`psql in another session ${ended}: ${sql}\n${run.stderr.trim() || run.error?.message}`);
    }
}
