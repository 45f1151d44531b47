// The `dotenv` output of each stack variant, read back three ways the README promises: `set -a; . ./.env` in sh and
// in bash, and a dotenv library (the rules of the `dotenv` package's README: KEY=value, # starts a comment in an
// unquoted value, surrounding whitespace trimmed, single or double quotes removed with what they hold kept as it
// is). Each must give back exactly the connection strings the stack exports. The variants: the docker stack with
// PgBouncer (three URLs), an owner password holding every character a shell or a dotenv parser reads specially,
// and an external server with verify-full, connect_timeout and an sslrootcert path with a space, & and parentheses
// (two query parameters and percent-escapes in one URL).
import { execFileSync } from "node:child_process";
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { installMocks, resolve, runStack } from "../support/program";

const dir = mkdtempSync(join(tmpdir(), "memory-stack-dotenv-variants-"));
const caFile = join(dir, "my ca&certs (1).crt");

beforeAll(() => {
    installMocks("dotenv-variants");
    copyFileSync(new URL("../../package.json", import.meta.url), caFile);
});

afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
});

/** A .env text read by the dotenv package's documented rules. */
function dotenvParse(text: string): Record<string, string> {
    const values: Record<string, string> = {};
    for (const line of text.split(/\r?\n/)) {
        const match = /^\s*(?:export\s+)?([\w.-]+)\s*=\s*(.*)$/.exec(line);
        if (!match) continue;
        const raw = match[2].trim();
        const quoted = /^(['"`])([\s\S]*)\1$/.exec(raw);
        values[match[1]] = quoted ? quoted[2] : raw.replace(/#.*$/, "").trim();
    }
    return values;
}

/** Each key of the .env text as `shell` sees it after `set -a; . ./.env`. */
function sourced(shell: string, text: string, keys: string[]): Record<string, string> {
    const file = join(dir, `${shell}.env`);
    writeFileSync(file, text);
    const script = `set -a; . "$1"; ${keys.map((key) => `printf '%s\\0' "$${key}"`).join("; ")}`;
    const values = execFileSync(shell, ["-c", script, shell, file], { encoding: "utf8" }).split("\0");
    return Object.fromEntries(keys.map((key, i) => [key, values[i]]));
}

const VARIANTS: [string, Record<string, string>][] = [
    ["the docker stack with PgBouncer", {}],
    ["a docker owner password of shell and dotenv syntax", { password: `p@ss w0rd'"$&#!*~()\\;|<>=\`` }],
    [
        "an external server with verify-full, connect_timeout and a CA path of shell syntax",
        {
            provisioner: "external",
            databaseUrl: `postgresql://owner~1:pa%24%24@db.example.com:6543/app?sslmode=verify-full&connect_timeout=7&sslrootcert=${encodeURIComponent(caFile)}`,
        },
    ],
];

describe("each stack variant's dotenv", () => {
    it.each(VARIANTS)("%s: gives sh, bash and a dotenv parser the exported strings", async (_, raw) => {
        const { result } = await runStack(raw, `ms-dotenv-${VARIANTS.findIndex(([, r]) => r === raw)}`);
        const text = await resolve(result.dotenv);
        const expected: Record<string, string> = {
            DATABASE_URL: await resolve(result.connectionString),
            MEMORY_APP_DATABASE_URL: await resolve(result.appConnectionString),
            ...(result.pooledConnectionString ? { MEMORY_APP_POOLED_DATABASE_URL: await resolve(result.pooledConnectionString) } : {}),
        };
        expect(dotenvParse(text)).toEqual(expected);
        for (const shell of ["sh", "bash"]) {
            expect(sourced(shell, text, Object.keys(expected))).toEqual(expected);
        }
    });
});
