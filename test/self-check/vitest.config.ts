// The self-check's own config: the real global setup (PostgreSQL 15 through its keeper process) and
// pool, but only the files of this folder, which fail on purpose.
import { defineConfig } from "vitest/config";

export default defineConfig({
    test: {
        root: `${__dirname}/../..`,
        include: ["test/self-check/*.test.ts"],
        globalSetup: ["test/support/global-setup.ts"],
        pool: "forks",
    },
});
