// A psql session fed through a named pipe, so a test can make it commit synchronously from a callback the engine
// does not await (onProgress): it opens a transaction, takes an xid and runs `sql` now, and commits when commit()
// is called, which returns once it has. A snapshot taken meanwhile lists that xid as in progress (pg_snapshot_xip).
import { execFileSync, spawn } from "node:child_process";
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import type { Client } from "pg";
import { until } from "./poll";

export interface HeldTransaction {
    commit(): void;
    end(): Promise<void>;
}

/** `url`: the database; `name`: the session's application_name; `observer`: a client of this process on the same database. */
export async function holdTransaction(url: string, name: string, observer: Client, sql: string): Promise<HeldTransaction> {
    const dir = mkdtempSync(path.join(tmpdir(), "held-transaction-"));
    const fifo = path.join(dir, "in");
    execFileSync("mkfifo", [fifo]);
    const psql = spawn("psql", ["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url, "-f", fifo], {
        env: { ...process.env, PGAPPNAME: name },
        stdio: "ignore",
    });
    const exited = new Promise<void>((resolve) => psql.once("exit", () => resolve()));
    // Read and write: opened only to write, the pipe blocks the whole event loop until psql opens it, forever when
    // psql ends first (it could not connect).
    const pipe = openSync(fifo, "r+");
    const end = async () => {
        closeSync(pipe);
        await exited;
        rmSync(dir, { recursive: true, force: true });
    };
    writeSync(pipe, `begin;\nselect pg_current_xact_id();\n${sql};\n`);
    const holding = `select count(*)::int as n from pg_stat_activity
                      where datname = current_database() and application_name = '${name}' and backend_xid is not null`;
    try {
        await until("the other session to hold its transaction", async () => {
            if (psql.exitCode !== null) throw new Error(`psql ended (exit ${psql.exitCode}) before it held its transaction`);
            return (await observer.query(holding)).rows[0].n === 1 ? true : undefined;
        });
    } catch (error) {
        psql.kill();
        await end();
        throw error;
    }
    return {
        commit() {
            writeSync(pipe, "commit;\n");
            execFileSync("bash", ["-c", `until [ "$(psql -X -tA -d '${url}' -c "${holding.replace(/\s+/g, " ")}")" = 0 ]; do :; done`], {
                timeout: 30_000,
            });
        },
        end,
    };
}
