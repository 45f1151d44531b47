// README, Rollback: "They refuse, dropping nothing, while a recorded table holds rows or a memory column on
// your users holds non-default values". The data guard counts with plain `select count(*)` as the role that
// runs the rollback. An application whose users table has row level security forced on its owner (`alter
// table users force row level security`, a policy for its own request role) hides every row from that count:
// the guard counted 0 opt-outs, passed, and `alter table users drop column memory_enabled` dropped the
// users' memory_enabled = false opt-outs without --allow-data-loss. The user loses who opted out of memory.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cli } from "../support/cli";
import { dropRoles, freshDatabase, sharedServer, type TestDatabase } from "../support/database";
import { managedOwner } from "../support/managed-owner";

let db: TestDatabase;
let owner: string;
let env: NodeJS.ProcessEnv;
let roles: string[];

beforeAll(async () => {
    db = await freshDatabase("attack11_forced_rls");
    roles = [`${db.name}_app`, `${db.name}_admin`];
    // A superuser would see every row whatever the policies.
    const deployer = await managedOwner(db);
    ({ name: owner, env } = deployer);
    const asOwner = await deployer.connect();
    await asOwner.query(`create table public.users (id uuid primary key default gen_random_uuid(), email text not null);
        insert into public.users (email) select 'user' || i || '@example.com' from generate_series(1, 5) i`);
    const apply = await cli(["apply", "--app-role", roles[0], "--admin-role", roles[1]], env);
    expect(apply.code, apply.stderr).toBe(0);
    await asOwner.query(`update public.users set memory_enabled = false where email in ('user1@example.com', 'user2@example.com');
        alter table public.users enable row level security;
        alter table public.users force row level security;
        create policy users_own_row on public.users using (email = current_setting('app.email', true))`);
});

afterAll(async () => {
    await db?.drop();
    await dropRoles(sharedServer(), [...(roles ?? []), ...(owner ? [owner] : [])]);
});

describe("rollback beside an application's users with row level security forced on its owner", () => {
    it("refuses, and keeps the memory columns and their opt-outs", async () => {
        const rollback = await cli(["rollback"], env);

        expect(rollback.code, rollback.stdout).toBe(1);
        const check = await db.connect();
        const { rows } = await check.query("select count(*)::int as opted_out from public.users where not memory_enabled");
        expect(rows[0].opted_out).toBe(2);
    });
});
