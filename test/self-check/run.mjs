#!/usr/bin/env node
// The test command must fail when a test fails. This runs vitest, with the project's real global
// setup, on files that fail on purpose, and exits non-zero unless each run exits non-zero and says why:
//   1. a failing test and a test file that throws while loading;
//   2. a global setup that cannot start PostgreSQL (an unknown server setting, on purpose);
//   3. a test that never lets a timer run, not even its own timeout (the stall watchdog, 3 s here).
// CI runs it before the suite (.ci/run): if a dependency's exit hook ever turns a failed run into
// exit 0 again, CI stops here.
import { spawnSync } from "node:child_process";
import { join } from "node:path";

const root = join(import.meta.dirname, "..", "..");
const vitest = join(root, "node_modules", "vitest", "vitest.mjs");
const config = join(import.meta.dirname, "vitest.config.ts");

const cases = [
    {
        what: "a failing test and a test file that fails to load",
        env: {},
        expect: [/fails on purpose \(self-check\)/, /this test file fails to load on purpose/, /Test Files +2 failed/],
    },
    {
        what: "a global setup that cannot start PostgreSQL",
        env: { MEMORY_STACK_TEST_POSTGRES_FLAGS: "-c memory_stack_no_such_setting=1" },
        expect: [/embedded PostgreSQL 15 starting: PostgreSQL did not start/],
    },
    {
        what: "a test that never lets a timer run",
        env: { MEMORY_STACK_SELF_CHECK_STALL: "1", MEMORY_STACK_TEST_STALL_MS: "3000" },
        expect: [
            /stall watchdog: no timer ran for 3 s .* running test\/self-check\/never-yields\.stall\.ts: a loop that never yields > spins/,
        ],
    },
];

let failures = 0;
for (const { what, env, expect } of cases) {
    const started = Date.now();
    const run = spawnSync(process.execPath, [vitest, "run", "--config", config], {
        cwd: root,
        encoding: "utf8",
        env: { ...process.env, ...env, CI: "true", NO_COLOR: "1" },
        timeout: 120_000,
    });
    const output = `${run.stdout}\n${run.stderr}`;
    const missing = expect.filter((pattern) => !pattern.test(output));
    // A run that had to be stopped at the deadline did not fail by itself.
    const ok = run.status !== 0 && run.status !== null && !run.error && missing.length === 0;
    console.log(
        `${ok ? "ok  " : "FAIL"} ${what}: exit ${run.status ?? run.signal}${run.error ? ` (${run.error.message})` : ""}${missing.length ? `, output lacks ${missing.join(", ")}` : ""} (${Date.now() - started} ms)`,
    );
    if (!ok) {
        failures++;
        console.log(
            output
                .split("\n")
                .map((line) => `     | ${line}`)
                .join("\n"),
        );
    }
}
if (failures > 0) {
    console.log(`\nThe test command does not fail when it must (${failures} case(s) above): CI could not reject a broken change.`);
    process.exit(1);
}
console.log("the test command fails when a test, a test file or the global setup fails, or a test stalls its worker");
