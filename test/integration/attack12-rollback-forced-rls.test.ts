// BUG on b2b6cb7: the data guard counts rows with a plain count(*) as the deploying role, and row level
// security applies to a table's owner once the table has FORCE ROW LEVEL SECURITY (hardening guides
// recommend it; PostgreSQL's docs show it). The deployer on managed PostgreSQL (RDS, Cloud SQL, Azure) is
// not a superuser and has no BYPASSRLS, sets no request.jwt.claim.sub, so the memory tables' policies
// show it no row: the guard counted 0, and `memory-stack rollback` (and `pulumi destroy`, the same
// engine) dropped sessions and memory_logs with every row in them, exit 0, no --allow-data-loss. What a
// user loses: every agent session and memory log, silently. The guard must see every row or refuse.
import type { Client } from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { cli } from "../support/cli";
import { dropRoles, freshDatabase, sharedServer, type TestDatabase } from "../support/database";
import { managedOwner } from "../support/managed-owner";

const databases: TestDatabase[] = [];
const roles: string[] = [];

afterAll(async () => {
    await Promise.all(databases.map((db) => db.drop()));
    await dropRoles(sharedServer(), roles);
});

/** A database owned by a login role with CREATEROLE and nothing more (a managed server's deployer), the memory schema applied by it over an application's users. */
async function deployedByOwner(prefix: string): Promise<{ asOwner: Client; env: NodeJS.ProcessEnv }> {
    const db = await freshDatabase(prefix);
    databases.push(db);
    const { name: owner, env, connect } = await managedOwner(db);
    roles.push(`${db.name}_app`, `${db.name}_admin`, owner);
    const asOwner = await connect();
    await asOwner.query(`create table public.users (id uuid primary key default gen_random_uuid(), email text unique not null);
        insert into public.users (email) values ('ada@example.com'), ('bob@example.com')`);
    const apply = await cli(["apply", "--app-role", `${db.name}_app`, "--admin-role", `${db.name}_admin`], env);
    expect(apply.code, apply.stderr).toBe(0);
    return { asOwner, env };
}

describe("rollback by a deployer that row level security applies to", () => {
    it("refuses while memory tables forced under row level security hold rows, and drops nothing", async () => {
        const { asOwner, env } = await deployedByOwner("a12_forced_rls");
        await asOwner.query(`insert into sessions (session_id, user_id, agent_name) select 's-' || email, id, 'planner' from users;
            insert into memory_logs (session_id, user_id, agent_name, operation) select id, user_id, 'planner', 'write' from sessions;
            alter table sessions force row level security; alter table memory_logs force row level security`);

        const rollback = await cli(["rollback"], env);

        expect(rollback.code, rollback.stdout + rollback.stderr).toBe(1);
        expect(rollback.stderr).toContain("row level security applies to");
        expect(rollback.stderr).toContain(
            "on public.sessions, public.memory_logs, so the data guard cannot count the rows that would be lost",
        );
        await asOwner.query("alter table sessions no force row level security; alter table memory_logs no force row level security");
        const left = await asOwner.query<{ sessions: number; logs: number }>(
            "select (select count(*)::int from sessions) as sessions, (select count(*)::int from memory_logs) as logs",
        );
        expect(left.rows[0]).toEqual({ sessions: 2, logs: 2 });
    });
});
