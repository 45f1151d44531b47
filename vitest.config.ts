import { defineConfig } from "vitest/config";

export default defineConfig({
    test: {
        include: ["test/**/*.test.ts"],
        globalSetup: ["test/support/global-setup.ts"],
        testTimeout: 60_000,
        hookTimeout: 120_000,
        // Program tests use Pulumi's process-wide mocks; files run in separate forks.
        pool: "forks",
        poolOptions: { forks: { maxForks: 2, minForks: 1 } },
    },
});
