#!/usr/bin/env node
// The `memory-stack` command: the compiled CLI in dist/ (npm ci builds it; so does `npm run build`).
"use strict";
const path = require("node:path");

let main;
try {
    ({ main } = require(path.join(__dirname, "..", "dist", "cli", "main.js")));
} catch (error) {
    if (error && error.code === "MODULE_NOT_FOUND" && String(error.message).includes("dist")) {
        process.stderr.write(
            "memory-stack: the CLI is not built (dist/cli/main.js is missing); run `npm run build` (npm ci runs it) and try again\n",
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
