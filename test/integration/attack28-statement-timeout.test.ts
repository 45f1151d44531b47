// BUG on 0b697ca: an application's database with a statement_timeout (alter database … set statement_timeout) shorter
// than a statement of the apply — here the engine's own catalog read — failed with PostgreSQL's "canceling statement
// due to statement timeout" alone: neither the setting nor the way round it. The CLI now says both.
import { expect, it } from "vitest";
import { cli } from "../support/cli";
import { cliDatabases } from "../support/cli-database";

const cliDatabase = cliDatabases();

it("a statement_timeout too short for the apply is named, with the way to lift it for the command", async () => {
    const { db, client, roleFlags: names, env } = await cliDatabase("a28_statement_timeout");
    // No statement of the apply's catalog reads and migrations ends within a millisecond (the catalog read alone takes several).
    await client.query(`alter database ${db.name} set statement_timeout = '1ms'`);

    const cut = await cli(["apply", ...names], env);

    expect(cut.code).toBe(1);
    expect(cut.stderr).toContain(
        "canceling statement due to statement timeout; the session's statement_timeout (set on the database or the role",
    );
    expect(cut.stderr).toContain("PGOPTIONS='-c statement_timeout=0'");

    const lifted = await cli(["apply", ...names], { ...env, PGOPTIONS: "-c statement_timeout=0" });

    expect(lifted.code, lifted.stderr).toBe(0);
});
