// BUG on 0b697ca: an application's database with a statement_timeout (alter database … set statement_timeout) shorter
// than a statement of the apply — here the engine's own catalog read — failed with PostgreSQL's "canceling statement
// due to statement timeout" alone: neither the setting nor the way round it. The CLI now says both.
import { afterAll, expect, it } from "vitest";
import { cli } from "../support/cli";
import { dropRoles, freshDatabase, sharedServer, type TestDatabase } from "../support/database";

const databases: TestDatabase[] = [];
const roles: string[] = [];

afterAll(async () => {
    await Promise.all(databases.map((db) => db.drop()));
    await dropRoles(sharedServer(), roles);
});

it("a statement_timeout too short for the apply is named, with the way to lift it for the command", async () => {
    const db = await freshDatabase("a28_statement_timeout");
    databases.push(db);
    const client = await db.connect();
    // No statement of the apply's catalog reads and migrations ends within a millisecond (the catalog read alone takes several).
    await client.query(`alter database ${db.name} set statement_timeout = '1ms'`);
    const names = ["--app-role", `${db.name}_app`, "--admin-role", `${db.name}_admin`];
    roles.push(`${db.name}_app`, `${db.name}_admin`);

    const cut = await cli(["apply", ...names], { DATABASE_URL: db.url });

    expect(cut.code).toBe(1);
    expect(cut.stderr).toContain(
        "canceling statement due to statement timeout; the session's statement_timeout (set on the database or the role",
    );
    expect(cut.stderr).toContain("PGOPTIONS='-c statement_timeout=0'");

    const lifted = await cli(["apply", ...names], { DATABASE_URL: db.url, PGOPTIONS: "-c statement_timeout=0" });

    expect(lifted.code, lifted.stderr).toBe(0);
});
