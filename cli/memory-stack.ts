// What bin/memory-stack.js loads: the CLI, which the build compiles into one file (memory-stack.bundle.js
// beside this one, from main.ts). A command that runs starts from the code cache the build made for that
// file (engine/db/code-cache.ts); help, the version and a usage error without a command run a sliver of it,
// and reading the cache of all of it would cost them more than it saves (so would loading node:crypto,
// which the cache's check needs: it is imported only for a command that runs).
import * as path from "node:path";
import { COMMAND_NAMES } from "./commands/names";
import type * as Cli from "./main";

const BUNDLE = path.join(__dirname, "memory-stack.bundle.js");
const NO_COMMAND_RUNS = ["--help", "-h", "--version", "-V"];

export const main: typeof Cli.main = async (argv, ...rest) => {
    const runs =
        argv.some((arg) => (COMMAND_NAMES as readonly string[]).includes(arg)) && !argv.some((arg) => NO_COMMAND_RUNS.includes(arg));
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- the bundle, as node's own loader compiles it
    const cli = (runs ? (await import("../engine/db/code-cache")).requireCompiled(BUNDLE) : require(BUNDLE)) as typeof Cli;
    return cli.main(argv, ...rest);
};
