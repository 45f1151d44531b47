// docs/cli.md: libpq's environment fills what the URL leaves out, and "a value that cannot be read is refused naming
// the variable". A PGSSLROOTCERT naming a missing file, with sslmode verify-ca, was said as "nothing accepts connections
// at 127.0.0.1:…: start the server, or fix the host and port in the URL" of a server that was running (attack31): the
// unix-socket advice for ENOENT. The URL's own sslrootcert is read, and refused, when the URL is parsed.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cli } from "../support/cli";
import { freshDatabase, type TestDatabase } from "../support/database";

let db: TestDatabase;

beforeAll(async () => {
    db = await freshDatabase("attack31_pgsslrootcert");
});

afterAll(async () => {
    await db?.drop();
});

describe("a PGSSLROOTCERT that cannot be read", () => {
    it.each([
        ["a missing file", "/nonexistent/memory-stack-ca.crt", "verify-ca"],
        ["a directory", "/", "verify-full"],
    ])("%s is named as PGSSLROOTCERT's, not as a server that is down", async (_, path, sslMode) => {
        const run = await cli(["status"], { DATABASE_URL: db.url, PGSSLROOTCERT: path, PGSSLMODE: sslMode });

        expect(run.code).toBe(1);
        expect(run.stderr).toContain(`the CA file ${JSON.stringify(path)} (the URL's sslrootcert, else PGSSLROOTCERT) cannot be read`);
        expect(run.stderr).not.toContain("nothing accepts connections");
    });
});
