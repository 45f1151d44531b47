// The seed's case through the CLI: the application already has its users table. apply adds the memory
// columns and grants on what the schema created, and says which grants on the application's users it
// leaves to the table's owner; verify names them; once they are run, verify passes.
import { afterAll, expect, it } from "vitest";
import { cli } from "../support/cli";
import { dropRoles, freshDatabase, sharedServer, type TestDatabase } from "../support/database";

let db: TestDatabase | undefined;
let roles: string[] = [];

afterAll(async () => {
    await db?.drop();
    await dropRoles(sharedServer(), roles);
});

it("applies beside an application's users, says which grants on it are the owner's to run, and verifies once they are", async () => {
    db = await freshDatabase("app_users_grants");
    roles = [`${db.name}_app`, `${db.name}_admin`];
    const client = await db.connect();
    await client.query(`create table public.users (id uuid primary key, email text not null);
        insert into public.users values (gen_random_uuid(), 'a@example.com'), (gen_random_uuid(), 'b@example.com')`);
    const flags = ["--app-role", roles[0], "--admin-role", roles[1]];
    const env = { DATABASE_URL: db.url };

    const apply = await cli(["apply", ...flags], env);
    expect(apply.code, apply.stderr).toBe(0);
    const said = apply.stderr.split("\n").find((line) => line.startsWith("public.users is your application's table"));
    expect(said).toContain(`${roles[1]} needs these on it`);
    const statements = said!.slice(said!.indexOf("): ") + 3).split("; ");
    expect(statements).toEqual([
        `grant select on table "public"."users" to "${roles[1]}"`,
        expect.stringMatching(new RegExp(`^grant update \\(.*memory_enabled.*\\) on table "public"."users" to "${roles[1]}"$`)),
    ]);
    // The application's table keeps the privileges it had: apply granted nothing on it.
    const { rows } = await client.query("select relacl is null as untouched from pg_class where oid = 'public.users'::regclass");
    expect(rows[0].untouched).toBe(true);

    const before = await cli(["verify", ...flags], env);
    expect(before.code).toBe(1);
    expect(before.stdout + before.stderr).toContain("not on an application's own users table, whose privileges its owner grants");

    await client.query(statements.map((statement) => `${statement};`).join("\n"));
    const after = await cli(["verify", ...flags], env);
    expect(after.code, after.stdout + after.stderr).toBe(0);
});
