// attack19: can verification's new checks (this session's: the memory_operation_summary sum, the insert for another
// user in every memory table, the widening policies) fail a CORRECT deployment beside what an application ordinarily
// adds? Each case is an application object on a correct, granted schema; verification must pass.
//
// As in attack15-verify-drift: one applied database for the file; each case runs its change in a transaction that
// verification itself ends in rollback.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { describeProblem, type VerificationReport } from "../../engine/verify/index";
import type { SchemaDatabase } from "../support/schema-db";
import { verifiedSchema, type VerifiedSchema } from "../support/verify-with";

let schema: SchemaDatabase;
let verifyWith: VerifiedSchema["verifyWith"];
beforeAll(async () => {
    ({ schema, verifyWith } = await verifiedSchema("a19_verify"));
});
afterAll(async () => {
    await schema?.drop();
});

const lines = (report: VerificationReport): string => report.problems.map(describeProblem).join("\n");

const correct: { what: string; sql: string }[] = [
    {
        // Plausible: memory_logs is the "audit of memory operations"; an application logs every goal or belief written.
        // Verification's goal and belief rows (agent memory-stack-verify) then add memory_logs rows of the same agent for
        // the same user, all of them the user's own; the summary's sum check expected exactly 1 and reported that
        // memory_operation_summary "shows other users' operations" — a tenant leak that is not there, failing `pulumi up`.
        what: "an application trigger that logs each goal written into memory_logs (the user's own rows)",
        sql:
            "create function public.app_log_goal() returns trigger language plpgsql as $$ begin " +
            "insert into public.memory_logs (user_id, agent_name, operation, memory_key) values (new.user_id, new.agent_name, 'write', 'goal'); " +
            "return new; end $$; " +
            "create trigger app_log_goal after insert on public.goal_assessments for each row execute function public.app_log_goal()",
    },
    {
        // Stricter than the stack: an application pins user_id to the bound user, so no client can write for another.
        // Verification's insert for user B becomes a row of user A, which is no hole.
        what: "an application trigger that pins memory_logs.user_id to the bound user",
        sql:
            "create function public.app_pin_user() returns trigger language plpgsql as $$ begin " +
            "if memory_stack.request_user_id() is not null then new.user_id := memory_stack.request_user_id(); end if; " +
            "return new; end $$; " +
            "create trigger app_pin_user before insert on public.memory_logs for each row execute function public.app_pin_user()",
    },
];

// Held (pass before and after this branch's fixes): shown here so that a later change to the same checks keeps them.
const held: { what: string; sql: string }[] = [
    {
        what: "a PostgREST-style login that may become the app role, granted trust_plain_claims as plainClaimLogins does",
        sql:
            "create role a19_verify_authenticator login noinherit; grant {app} to a19_verify_authenticator; " +
            "grant execute on function memory_stack.trust_plain_claims() to a19_verify_authenticator",
    },
    {
        what: "an application's own table with permissive policies for the app role and for PUBLIC",
        sql:
            "create table public.app_notes (id int, owner uuid); alter table public.app_notes enable row level security; " +
            "create policy app_notes_mine on public.app_notes for all to {app} using (owner = auth.uid()); " +
            "create policy app_notes_all on public.app_notes for select using (true); grant select, insert on public.app_notes to {app}",
    },
];

describe.each([...correct, ...held])("a correct schema beside $what", ({ sql }) => {
    it("passes verification", async () => {
        const report = await verifyWith(sql);

        expect(lines(report)).toBe("");
        expect(report.ok).toBe(true);
    });
});
