// The `dotenv` output (`pulumi stack output dotenv --show-secrets > .env`) is read by dotenv libraries,
// docker's --env-file and, as often, a shell: `set -a; . ./.env`. A password may hold every printable
// character; percent-encoding keeps all of them out of a URL's syntax, but encodeURIComponent leaves
// ' ( ) ! * ~ as they are, and a shell reads those as quotes, subshells and tildes: the line fails to
// source (or, after a ':', ~user expands).
import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { connectionUrl, parseConnectionUrl } from "../../engine/db/url";

const settings = { host: "db.example.com", port: 5432, database: "ybryx", user: "postgres" };

describe("a connection URL in a .env line", () => {
    it.each(["it's-a-pass", "pass(word)x", "wow!*stars*", "~root/and~more", `all of ' " \\ $ \` ( ) ! * ~ ; & | < > = + @ # % / ?`])(
        "is sourced by a POSIX shell as it is, and means the same password: %j",
        (password) => {
            const url = connectionUrl({ ...settings, password });
            const file = join(mkdtempSync(join(tmpdir(), "dotenv-shell-")), ".env");
            writeFileSync(file, `DATABASE_URL=${url}\n`);
            for (const shell of ["sh", "bash"]) {
                const sourced = execFileSync(shell, ["-c", '. "$1" && printf %s "$DATABASE_URL"', shell, file], { encoding: "utf8" });
                expect(sourced).toBe(url);
                expect(parseConnectionUrl(sourced).password).toBe(password);
            }
        },
    );
});
