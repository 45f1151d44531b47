// The floor for applying the schema: Debian's psql running the same rendered SQL in one transaction.
import { execFile, execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ConnectionSettings } from "../../engine/db/url";

/** psql's path, or undefined when postgresql-client is not installed. */
export function findPsql(): string | undefined {
    try {
        return execFileSync("sh", ["-c", "command -v psql"], { encoding: "utf8" }).trim() || undefined;
    } catch {
        return undefined;
    }
}

export function psqlVersion(psql: string): string {
    return execFileSync(psql, ["--version"], { encoding: "utf8" }).trim();
}

/** Writes `sql` to a temp file; `remove()` deletes it. */
export function sqlFile(name: string, sql: string): { path: string; remove(): void } {
    const dir = mkdtempSync(join(tmpdir(), "memory-stack-bench-"));
    const path = join(dir, name);
    writeFileSync(path, sql);
    return { path, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** `psql -X -q -1 -v ON_ERROR_STOP=1 -f file`; rejects with psql's stderr when it fails. */
export function runPsqlFile(psql: string, settings: ConnectionSettings, file: string): Promise<void> {
    return new Promise((resolve, reject) => {
        execFile(
            psql,
            [
                "-X",
                "-q",
                "-1",
                "-v",
                "ON_ERROR_STOP=1",
                "-f",
                file,
                "-h",
                settings.host,
                "-p",
                String(settings.port),
                "-U",
                settings.user,
                "-d",
                settings.database,
            ],
            { env: { ...process.env, PGPASSWORD: settings.password, PGAPPNAME: "memory-stack-bench-psql" }, maxBuffer: 16 * 1024 * 1024 },
            (error, _stdout, stderr) =>
                error ? reject(new Error(`psql -1 -f ${file} failed: ${stderr.trim() || error.message}`)) : resolve(),
        );
    });
}
