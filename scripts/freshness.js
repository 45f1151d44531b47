// Is dist/ older than the TypeScript it is built from? The Pulumi program (scripts/program.js) and the
// dynamic providers run dist/, so a `pulumi up` after an edit without a build would run yesterday's code.
"use strict";
const { readdirSync, statSync } = require("node:fs");
const { join, relative } = require("node:path");

const SOURCES = ["index.ts", "components", "engine", "cli"];

/** The first source file changed after `built` (a file in dist/) was written, or undefined when dist/ is current. */
function newerSource(root, built) {
    let builtAt;
    try {
        builtAt = statSync(join(root, built)).mtimeMs;
    } catch {
        return built;
    }
    for (const entry of SOURCES) {
        const path = join(root, entry);
        const files = entry.endsWith(".ts")
            ? [path]
            : readdirSync(path, { recursive: true, withFileTypes: true })
                  .filter((file) => file.isFile() && file.name.endsWith(".ts"))
                  .map((file) => join(file.parentPath, file.name));
        const changed = files.find((file) => statSync(file).mtimeMs > builtAt);
        if (changed !== undefined) {
            return relative(root, changed);
        }
    }
    return undefined;
}

module.exports = { newerSource };
