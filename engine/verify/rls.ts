// Row level security, proven the way the application meets it: as the app role, with user A's id in
// request.jwt.claim.sub (transaction-local, as through PgBouncer), A sees its own rows and none
// of B's in every memory table and user view, cannot write a row for B, and sees no audit row;
// the admin role sees both users' rows.
//
// The checks run in their savepoint, which is rolled back: `set local role`, the claim, and the
// grants they may need go with it. Grants on the tables are the Grants component's business and
// may not exist where only the schema was applied (the CLI), so the check grants the app role
// what it reads here for its own duration rather than failing on a missing grant; likewise it
// makes the verifying user a member of the role where it is not (PostgreSQL 15: CREATEROLE).
import { quoteIdentifier } from "../migrate/render";
import { CheckRunner, expect } from "./checks";
import type { Expectations } from "./expected";
import type { Fixture } from "./functional";

// The views that carry user_id and so must filter by it under security_invoker.
const USER_VIEWS = ["recent_agent_activity", "user_session_stats"];

export async function checkRowLevelSecurity(
    run: CheckRunner,
    expected: Expectations,
    fixture: Fixture,
    fixtureCheck: string,
): Promise<void> {
    const { manifest, appRole, adminRole } = expected;
    const policies = manifest.policies.map((p) => `policy ${p.table}.${p.name}`);
    const userTables = manifest.rlsTables.filter((table) => table !== "audit_logs");
    const views = manifest.views.filter((view) => USER_VIEWS.includes(view));
    const needs = [fixtureCheck, ...policies, "function auth.uid", ...views.map((view) => `view ${view}`)];

    await run.check(`row level security: as ${appRole}, a user sees and writes only its own rows`, { needs }, async () => {
        await assumeRole(run, appRole, [...manifest.rlsTables, ...views], fixture.users[0]);
        const visible = await countVisible(run, [...userTables, ...views, "audit_logs"], fixture.users);
        for (const { relation, own, other } of visible) {
            if (relation === "audit_logs") {
                expect(own + other === 0, `audit_logs: ${own + other} audit row(s) visible to ${appRole}; only ${adminRole} may read them`);
            } else {
                expect(other === 0, `${relation}: ${other} row(s) of another user visible`);
                expect(own > 0, `${relation}: the user's own row is not visible (is auth.uid() reading request.jwt.claim.sub?)`);
            }
        }
        await run.expectError(
            "insert into public.sessions (session_id, user_id, agent_name) values ('memory-stack-verify-foreign', $1, 'memory-stack-verify')",
            [fixture.users[1]],
            "42501",
            "inserting a session for another user",
        );
    });

    await run.check(`row level security: ${adminRole} sees every user's rows`, { needs }, async () => {
        await assumeRole(run, adminRole, manifest.rlsTables, fixture.users[0]);
        for (const { relation, own, other } of await countVisible(run, manifest.rlsTables, fixture.users)) {
            expect(own > 0 && other > 0, `${relation}: ${adminRole} sees ${own} of user A's and ${other} of user B's rows`);
        }
    });
}

async function assumeRole(run: CheckRunner, role: string, relations: string[], user: string): Promise<void> {
    const quoted = quoteIdentifier(role);
    const [found] = await run.rows<{ member: boolean; bypass: boolean }>(
        `select pg_has_role(current_user, r.oid, 'member') as member, r.rolbypassrls or r.rolsuper as bypass
         from pg_roles r where r.rolname = $1`,
        [role],
    );
    expect(found !== undefined, `role ${role} does not exist`);
    const { member, bypass } = found;
    expect(!bypass, `role ${role} bypasses row level security (superuser or BYPASSRLS); policies cannot protect its rows`);
    if (!member) {
        await run.rows(`grant ${quoted} to current_user`);
    }
    // recent_agent_activity reads users (for the email) as the caller.
    await run.rows(`grant select, insert on ${relations.map((r) => `public.${r}`).join(", ")} to ${quoted}`);
    await run.rows(`grant select on public.users to ${quoted}`);
    await run.rows(`set local role ${quoted}`);
    await run.rows("select set_config('request.jwt.claim.sub', $1, true)", [user]);
}

/** Per relation, how many of user A's and user B's rows the current role sees. */
async function countVisible(
    run: CheckRunner,
    relations: string[],
    [userA, userB]: [string, string],
): Promise<{ relation: string; own: number; other: number }[]> {
    const sql = relations
        .map(
            (relation) =>
                `select '${relation}' as relation, count(*) filter (where user_id = $1)::int as own, count(*) filter (where user_id = $2)::int as other from public.${relation}`,
        )
        .join("\nunion all\n");
    return run.rows(sql, [userA, userB]);
}
