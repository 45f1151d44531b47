// verify compares each named check constraint of the memory tables with the rule PostgreSQL 15 prints for the one the
// migrations create (engine/verify/check-rules.ts). attack31: `drop constraint goal_assessments_status_check, add
// constraint goal_assessments_status_check check (true)` verified, as did a check added again `not valid`.
import type { Client } from "pg";
import { beforeAll, describe, expect, it } from "vitest";
import { CHECK_RULES_PG15 } from "../../engine/verify/check-rules";
import { cli } from "../support/cli";
import { cliDatabases } from "../support/cli-database";

const cliDatabase = cliDatabases();
let owner: Client;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
    const target = await cliDatabase("check_rules");
    [owner, env] = [target.client, target.env];
    const apply = await cli(["apply", ...target.roleFlags], env);
    expect(apply.code, apply.stderr).toBe(0);
});

describe("the check rules verification compares with", () => {
    it("are what PostgreSQL 15 prints for every named check the migrations create", async () => {
        // As verification reads them: with search_path pg_catalog (engine/verify/index.ts).
        await owner.query("begin; set local search_path = pg_catalog");
        const { rows } = await owner.query<{ conname: string; rule: string }>(
            `select c.conname, pg_get_constraintdef(c.oid) as rule from pg_constraint c
              where c.contype = 'c' and c.connamespace = 'public'::regnamespace order by c.conname`,
        );
        await owner.query("commit");
        expect(Object.fromEntries(rows.map((row) => [row.conname, row.rule]))).toEqual(CHECK_RULES_PG15);
    });
});

describe("verify on a check changed by hand", () => {
    const rule = "status in ('active', 'achieved', 'abandoned', 'paused')";

    it("names a check added again under its name with another rule", async () => {
        await owner.query(`alter table goal_assessments drop constraint goal_assessments_status_check,
            add constraint goal_assessments_status_check check (true)`);
        const verify = await cli(["verify"], env);

        expect(verify.code).toBe(1);
        expect(verify.stdout).toContain(
            "constraint goal_assessments.goal_assessments_status_check: is CHECK (true), where 0003_tables.sql defines",
        );
    });

    it("names a check added again not valid, until it is validated", async () => {
        await owner.query(`alter table goal_assessments drop constraint goal_assessments_status_check,
            add constraint goal_assessments_status_check check (${rule}) not valid`);
        const notValid = await cli(["verify"], env);

        expect(notValid.code).toBe(1);
        expect(notValid.stdout).toContain(
            "constraint goal_assessments.goal_assessments_status_check: is not valid (added with not valid), so rows written before it may break it: " +
                "alter table public.goal_assessments validate constraint goal_assessments_status_check",
        );

        await owner.query("alter table public.goal_assessments validate constraint goal_assessments_status_check");
        const validated = await cli(["verify"], env);
        expect(validated.code, validated.stdout).toBe(0);
    });
});
