// The dotenv output of the shipped external stack (Pulumi.external.yaml: Supabase, createRoles false), sourced
// the way docs/password-handling.md promises it can be: `set -a; . ./.env`. Its MEMORY_APP_DATABASE_URL is the
// login's URL with two query parameters, `?sslmode=require&options=-c%20role%3Dauthenticated`. A shell reads the
// unquoted `&` as "run in the background": the assignment runs in a subshell and is lost, and `options=…` is set
// as a variable of its own. The application started from that shell finds no MEMORY_APP_DATABASE_URL (or an
// older one). The same holds for any external URL with sslrootcert= (two parameters).
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { installMocks, resolve, runStack } from "../support/program";

const dir = mkdtempSync(join(tmpdir(), "memory-stack-dotenv-"));

beforeAll(() => {
    installMocks("external");
});

afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
});

/** Each KEY of the .env text as `shell` sees it after `set -a; . ./.env`. */
function sourced(shell: string, dotenv: string, keys: string[]): Record<string, string> {
    const file = join(dir, `${shell}.env`);
    writeFileSync(file, dotenv);
    const script = `set -a; . "$1"; ${keys.map((key) => `printf '%s\\0' "$${key}"`).join("; ")}`;
    const values = execFileSync(shell, ["-c", script, shell, file], { encoding: "utf8" }).split("\0");
    return Object.fromEntries(keys.map((key, i) => [key, values[i]]));
}

describe("the Supabase stack's dotenv, sourced by a shell", () => {
    const raw = {
        provisioner: "external",
        databaseUrl: "postgresql://postgres:supabase-secret@db.example.supabase.co:5432/postgres",
        appRole: "authenticated",
        adminRole: "service_role",
        createRoles: "false",
        plainClaimLogins: '["authenticator"]',
    };

    it.each(["sh", "bash"])("gives %s every URL as the stack exports it", async (shell) => {
        const { result } = await runStack(raw, `memory-stack-dotenv-${shell}`);
        const dotenv = await resolve(result.dotenv);
        const expected = {
            DATABASE_URL: await resolve(result.connectionString),
            MEMORY_APP_DATABASE_URL: await resolve(result.appConnectionString),
        };
        expect(expected.MEMORY_APP_DATABASE_URL).toContain("options=");
        expect(sourced(shell, dotenv, Object.keys(expected))).toEqual(expected);
    });
});
