// BUG on 6b0c820: a database created in LATIN1 (an older cluster's encoding). The client sends UTF8 and the server converts
// every query's text to LATIN1, which has no "…" or "→": the first apply failed at 0008 with "character with byte sequence
// 0xe2 0x80 0xa6 in encoding "UTF8" has no equivalent in encoding "LATIN1"" (a "…" in a comment between its statements,
// sent as one query with the next transaction's begin), naming no file; and verify always failed, its catalog query
// spelling a foreign key "<column> → <table>". The file now runs statement by statement, and the arrow is added in Node.
import { describe, expect, it } from "vitest";
import { cli } from "../support/cli";
import { cliDatabases } from "../support/cli-database";

const cliDatabase = cliDatabases();

describe("a database whose encoding is LATIN1", () => {
    it("is applied on the first run, verified and rolled back", async () => {
        const { client, roleFlags, env } = await cliDatabase("a35_latin1", "encoding 'LATIN1' locale 'C' template template0");
        const encoding = await client.query<{ server_encoding: string }>("show server_encoding");
        expect(encoding.rows[0].server_encoding).toBe("LATIN1");

        const apply = await cli(["apply", ...roleFlags], env);
        expect(apply.code, apply.stderr).toBe(0);
        expect(apply.stdout).toContain("applied 14 migrations");
        const verify = await cli(["verify"], env);
        expect(verify.code, verify.stdout + verify.stderr).toBe(0);
        expect(verify.stdout + verify.stderr).toContain("memory schema verified (jsonb)");
        const rollback = await cli(["rollback"], env);
        expect(rollback.code, rollback.stderr).toBe(0);
        expect(rollback.stdout).toContain("rolled back the memory schema");
    });
});
