// The "roles must differ from the owner" check when the URL's user carries a default role name (from a
// fresh-eyes attack): skipped without row level security, and naming the default it clashes with. In-process CLI; port 1 refuses at once, so a
// run that gets past the argument checks ends with exit 1, not a usage error.
import { describe, expect, it } from "vitest";
import { main } from "../../cli/main";

async function runMain(argv: string[]): Promise<{ code: number; out: string }> {
    const lines: string[] = [];
    const code = await main(argv, {}, { stdout: (text) => lines.push(text), stderr: (text) => lines.push(text) });
    return { code, out: lines.join("\n") };
}

describe("an owner whose name is a default role name", () => {
    // Was: with --no-rls no role is used (the CLI itself refuses --app-role with --no-rls for that reason,
    // and apply --no-rls grants nothing), yet a URL that logs in as memory_app is refused with
    // `--app-role "memory_app": must differ from the owner user`. Should: --no-rls skips the role checks.
    it("--no-rls is not refused because of role names it does not use", async () => {
        const { code, out } = await runMain(["plan", "--no-rls", "--url", "postgresql://memory_app:pw@127.0.0.1:1/db?sslmode=disable"]);
        expect(out).not.toContain("must differ from the owner");
        expect(code).toBe(1); // the refused port, after the arguments were accepted
    });

    // Was: a user who gave no role flag at all, logging in as memory_admin, reads
    // `--admin-role "memory_admin": must differ from the owner user (memory_admin)`, as if they had typed
    // --admin-role memory_admin. Should: say that memory_admin is --admin-role's default and that
    // --admin-role NAME (another name) fixes it, as the roles-differ message already does ("its default").
    it("the refusal says the clashing name is the flag's default, not something the user typed", async () => {
        const { code, out } = await runMain(["plan", "--url", "postgresql://memory_admin:pw@127.0.0.1:1/db?sslmode=disable"]);
        expect(code).toBe(2);
        expect(out).toMatch(/--admin-role[^\n]*default/);
    });
});
