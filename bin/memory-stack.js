#!/usr/bin/env node
// The `memory-stack` command: the CLI compiled to one file in dist/ (npm ci builds it; so does `npm run build`).
"use strict";
const { existsSync } = require("node:fs");
const path = require("node:path");

const compiled = path.join(__dirname, "..", "dist", "cli", "memory-stack.js");
let main;
try {
    ({ main } = require(compiled));
} catch (error) {
    // Only a missing dist/ is "not built"; any other failure to load is shown as it is.
    if (error && error.code === "MODULE_NOT_FOUND" && !existsSync(compiled)) {
        process.stderr.write(
            "memory-stack: the CLI is not built (dist/cli/memory-stack.js is missing); run `npm run build` (npm ci runs it) and try again\n",
        );
        process.exit(2);
    }
    throw error;
}

main(process.argv.slice(2)).then(
    (code) => {
        process.exitCode = code;
    },
    (error) => {
        process.stderr.write(`memory-stack: ${error && error.stack ? error.stack : error}\n`);
        process.exitCode = 1;
    },
);
