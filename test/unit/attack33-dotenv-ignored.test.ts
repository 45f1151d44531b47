// README: `pulumi stack output dotenv --show-secrets > .env`, in the repository, where `npm run up` runs. The .env holds
// every password of the stack in plain text; git did not ignore it, so a `git add -A` committed them.
import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { REPO } from "../support/stack-files";

describe("the .env the README writes", () => {
    it.each([".env", "examples/.env"])("is ignored by git: %s", (path) => {
        const check = spawnSync("git", ["check-ignore", "--no-index", "--quiet", path], { cwd: REPO, encoding: "utf8" });

        expect(check.error).toBeUndefined();
        expect(check.status, check.stderr).toBe(0);
    });
});
