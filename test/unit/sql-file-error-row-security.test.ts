// Every engine transaction runs with row_security off: a statement that the policies of any table it reaches would
// filter for the migrating role fails (an application's audit trigger on a memory table inserting into its own RLS
// table, a memory table forced on its owner). PostgreSQL's message names the table, and gives a hint only for the
// owner under FORCE: the user was not told why row level security matters to a migration, nor what to change.
import { describe, expect, it } from "vitest";
import { SqlFileError } from "../../engine/migrate/execute";

describe("a migration refused by row level security", () => {
    it("says why (row_security off) and what to change", () => {
        const cause = Object.assign(new Error('query would be affected by row-level security policy for table "app_audit"'), {
            code: "42501",
            where: 'SQL statement "insert into public.app_audit (tbl, op) values (tg_table_name, tg_op)"',
        });
        const error = new SqlFileError(
            "0014_similarity_jsonb_fast.sql",
            37,
            "update public.goal_assessments ...",
            "42501",
            cause,
            "Rolled back.",
        );

        expect(error.message).toContain('for table "app_audit"');
        expect(error.message).toMatch(/why: memory-stack runs its migrations and rollback with row_security off/);
        expect(error.message).toMatch(/BYPASSRLS/);
        expect(error.message).toMatch(/security definer/);
    });

    it("adds nothing to another permission error", () => {
        const cause = Object.assign(new Error("permission denied for table users"), { code: "42501" });
        const error = new SqlFileError("0002_users.sql", 3, "alter table public.users ...", "42501", cause, "Rolled back.");

        expect(error.message).not.toContain("why:");
    });
});
