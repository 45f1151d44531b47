// The self-check's own config: the real global setup (PostgreSQL 15 through its keeper process) and
// pool and setup file, but only the files of this folder, which fail on purpose.
import { defineConfig } from "vitest/config";

export default defineConfig({
    test: {
        root: `${__dirname}/../..`,
        include: [process.env.MEMORY_STACK_SELF_CHECK_STALL ? "test/self-check/never-yields.stall.ts" : "test/self-check/*.test.ts"],
        globalSetup: ["test/support/global-setup.ts"],
        setupFiles: ["test/support/stall-watchdog.ts"],
        pool: "forks",
    },
});
