#!/usr/bin/env node
// The `memory-stack` command. The CLI is TypeScript run through tsx (a dependency), so it works right
// after `npm ci` with no build step.
"use strict";
const path = require("node:path");

require("tsx/cjs/api").register();
const { main } = require(path.join(__dirname, "..", "cli", "main.ts"));

main(process.argv.slice(2)).then(
    (code) => {
        process.exitCode = code;
    },
    (error) => {
        process.stderr.write(`memory-stack: ${error && error.stack ? error.stack : error}\n`);
        process.exitCode = 1;
    },
);
