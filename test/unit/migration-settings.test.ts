// The migration settings of issue 19: the config key, its CLI flag, and the progress lines the CLI prints.
import { describe, expect, it } from "vitest";
import { parseCliArgs, UsageError } from "../../cli/args";
import { passNotices, stepProgress } from "../../cli/progress";
import { ConfigError, parseConfig } from "../../engine/config/config";
import type { StepEvent } from "../../engine/migrate/step-runner";

const ENV = { DATABASE_URL: "postgresql://postgres:pw@localhost:5432/ybryx" };

describe("migration.maintenanceWorkMemMb", () => {
    it("bounds an index build's maintenance_work_mem at 1024 MB unless set", () => {
        expect(parseConfig({}).migration).toMatchObject({ maintenanceWorkMemMb: 1024 });
        expect(parseConfig({ migration: '{"maintenanceWorkMemMb": 4096}' }).migration).toMatchObject({ maintenanceWorkMemMb: 4096 });
    });

    it("refuses a value PostgreSQL would not take, and unknown keys, naming them", () => {
        expect(() => parseConfig({ migration: '{"maintenanceWorkMemMb": 0}' })).toThrow(
            new ConfigError("migration.maintenanceWorkMemMb", 0, "must be an integer from 1 to 2097151"),
        );
        expect(() => parseConfig({ migration: '{"maintenanceWorkMem": 64}' })).toThrow(
            `memory-stack:migration.maintenanceWorkMem is "[not shown]"; unknown key`,
        );
    });

    it("is --maintenance-work-mem for apply, and nothing else takes it", async () => {
        expect(await parseCliArgs(["apply", "--maintenance-work-mem", "256"], ENV)).toMatchObject({ maintenanceWorkMemMb: 256 });
        expect(await parseCliArgs(["apply"], ENV)).toMatchObject({ maintenanceWorkMemMb: undefined });
        await expect(parseCliArgs(["apply", "--maintenance-work-mem", "lots"], ENV)).rejects.toThrow(
            new UsageError('--maintenance-work-mem "lots": must be an integer from 1 to 2097151'),
        );
        await expect(parseCliArgs(["status", "--maintenance-work-mem", "64"], ENV)).rejects.toThrow(
            "--maintenance-work-mem only applies to apply",
        );
    });
});

describe("the CLI's progress lines", () => {
    const where = { migration: "0015_vector_expand.sql", step: "backfill_goals" };

    function printed(events: StepEvent[], clock: number[]): string[] {
        const lines: string[] = [];
        const print = stepProgress(
            (line) => lines.push(line),
            () => clock.shift() ?? 0,
        );
        events.forEach(print);
        return lines;
    }

    it("print a batched step's rows at most once a second, and always the last", () => {
        const rows = (done: number): StepEvent => ({ type: "rows", ...where, done, total: 1000 });
        expect(printed([rows(200), rows(400), rows(600), rows(1000)], [0, 500, 1200, 1300])).toEqual([
            "  0015_vector_expand.sql backfill_goals: 200/1,000 rows",
            "  0015_vector_expand.sql backfill_goals: 600/1,000 rows",
            "  0015_vector_expand.sql backfill_goals: 1,000/1,000 rows",
        ]);
    });

    it("say what each step did and when an index build will spill", () => {
        expect(
            printed(
                [
                    { type: "step", ...where, kind: "batched", index: 3, total: 6, durationMs: 1234.4, outcome: "done" },
                    { type: "step", ...where, kind: "batched", index: 3, total: 6, durationMs: 1, outcome: "done before" },
                    {
                        type: "index memory",
                        ...where,
                        index: "idx_g",
                        neededMb: 82,
                        settingMb: 64,
                        boundMb: 64,
                        rows: 10000,
                        entryBytes: 6152,
                    },
                    {
                        type: "index memory",
                        ...where,
                        index: "idx_g",
                        neededMb: 82,
                        settingMb: 82,
                        boundMb: 1024,
                        rows: 10000,
                        entryBytes: 6152,
                    },
                ],
                [],
            ),
        ).toEqual([
            "  0015_vector_expand.sql backfill_goals (step 3/6, batched): done in 1234 ms",
            "  0015_vector_expand.sql backfill_goals (step 3/6, batched): done in an earlier run",
            "  0015_vector_expand.sql backfill_goals: idx_g needs about 82 MB to build in memory (10,000 rows × 6,152 bytes); maintenance_work_mem is 64 MB, the bound: the build spills to disk and is slower. Raise the bound with --maintenance-work-mem 82 (config migration.maintenanceWorkMemMb) if the server has the memory",
            "  0015_vector_expand.sql backfill_goals: idx_g needs about 82 MB to build in memory (10,000 rows × 6,152 bytes); maintenance_work_mem 82 MB for the build (bound 1024 MB)",
        ]);
    });

    it("pass on the server's notices but not the '…, skipping' of idempotent DDL", () => {
        const lines: string[] = [];
        let listener: (notice: { message?: string; detail?: string; hint?: string }) => void = () => undefined;
        passNotices({ on: ((_: string, l: typeof listener) => (listener = l)) as never }, (line) => lines.push(line));
        listener({ message: 'relation "x" already exists, skipping' });
        listener({
            message: "hnsw graph no longer fits into maintenance_work_mem after 7247 tuples",
            detail: "Building will take significantly more time.",
            hint: "Increase maintenance_work_mem to speed up builds.",
        });
        expect(lines).toEqual([
            "  notice from the server: hnsw graph no longer fits into maintenance_work_mem after 7247 tuples (Building will take significantly more time. Increase maintenance_work_mem to speed up builds.)",
        ]);
    });
});
