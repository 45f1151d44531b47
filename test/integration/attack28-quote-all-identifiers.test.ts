// BUG on 0b697ca: a database with `alter database … set quote_all_identifiers = on` (every identifier PostgreSQL prints
// comes quoted: format_type, quote_ident, %I, regprocedure). The preflight read users.id's type as "uuid" and refused
// every apply ("users.id is "uuid", and the memory tables need a uuid users.id"); the catalog's identities, and with them
// the records, would be written quoted. The migration lock now holds it off for the run and gives it back after.
import { expect, it } from "vitest";
import { applyMigrations, readRecords } from "../../engine/migrate/index";
import { cli } from "../support/cli";
import { cliDatabases } from "../support/cli-database";
import { migration } from "../support/migrations";

const cliDatabase = cliDatabases();

it("a database that quotes every identifier is applied, recorded as any other and rolled back", async () => {
    const { db, client, roleFlags: names, env } = await cliDatabase("a28_quote_all");
    await client.query(`create table public.users (id uuid primary key default gen_random_uuid(), email text);
        alter database ${db.name} set quote_all_identifiers = on`);

    const plan = await cli(["plan", ...names], env);
    expect(plan.code, plan.stderr + plan.stdout).toBe(0);
    const apply = await cli(["apply", ...names], env);

    expect(apply.code, apply.stderr).toBe(0);
    const identities = (await readRecords(client)).map((record) => record.identity);
    expect(identities).toContain("table public.sessions");
    expect(identities).toContain("column public.users.memory_enabled");
    // Quoted in any session: a name with a hyphen, a type named as a keyword.
    expect(identities.filter((identity) => identity.includes('"')).sort()).toEqual([
        'extension "uuid-ossp"',
        'function public.close_stale_sessions("interval")',
        'function public.purge_old_logs("interval","interval")',
    ]);
    const rollback = await cli(["rollback"], env);
    expect(rollback.code, rollback.stderr).toBe(0);
    expect((await client.query("select to_regclass('public.sessions') is null as gone")).rows[0].gone).toBe(true);
});

it("gives the session its quote_all_identifiers back after a run", async () => {
    const { client } = await cliDatabase("a28_quote_all_session");
    await client.query("set quote_all_identifiers = on");

    await applyMigrations(client, [migration("0001_a.sql", "create table public.quoted_a (id int);\n")], { variant: "jsonb" });

    expect((await client.query("show quote_all_identifiers")).rows[0].quote_all_identifiers).toBe("on");
    expect((await readRecords(client)).map((record) => record.identity)).toEqual(["table public.quoted_a"]);
});
