import { defineConfig } from "vitest/config";
import { build } from "./scripts/build.mjs";

// The CLI and the dynamic providers run compiled from dist/: build it once per run, before any test,
// so no test runs yesterday's JavaScript. Vitest evaluates this file once per project as well: build once.
if (process.env.MEMORY_STACK_TEST_BUILT !== String(process.pid)) {
    build();
    process.env.MEMORY_STACK_TEST_BUILT = String(process.pid);
}

// Three projects: `npm test` runs them all; `npm test -- --project unit` runs the unit tests alone, in
// seconds, without starting PostgreSQL. Integration and lifecycle each get a PostgreSQL 15 of their own.
const POSTGRES = ["test/support/global-setup.ts"];

export default defineConfig({
    test: {
        testTimeout: 60_000,
        hookTimeout: 120_000,
        // A worker whose event loop stops running timers is killed, naming its test, instead of timing out never.
        setupFiles: ["test/support/stall-watchdog.ts"],
        // Program tests use Pulumi's process-wide mocks; files run in separate forks.
        pool: "forks",
        poolOptions: { forks: { maxForks: 2, minForks: 1 } },
        projects: [
            { extends: true, test: { name: "unit", include: ["test/unit/**/*.test.ts"] } },
            { extends: true, test: { name: "integration", include: ["test/integration/**/*.test.ts"], globalSetup: POSTGRES } },
            { extends: true, test: { name: "lifecycle", include: ["test/lifecycle/**/*.test.ts"], globalSetup: POSTGRES } },
        ],
    },
});
