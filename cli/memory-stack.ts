// What bin/memory-stack.js loads: the CLI, which the build compiles into one file (memory-stack.bundle.js
// beside this one, from main.ts), run from the code cache the build made for it (engine/db/code-cache.ts).
import * as path from "node:path";
import { requireCompiled } from "../engine/db/code-cache";
import type * as Cli from "./main";

export const { main } = requireCompiled(path.join(__dirname, "memory-stack.bundle.js")) as typeof Cli;
