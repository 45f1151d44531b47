// The program Pulumi runs (Pulumi.yaml main): index.ts as compiled JavaScript from dist/, so `pulumi
// preview` and `up` start without loading the TypeScript compiler. Types are checked by `npm run
// typecheck` (CI), dist/ is built by `npm ci` (prepare), `npm run build` and every `npm run up`.
"use strict";
const { join } = require("node:path");
const { newerSource } = require("./freshness");

const root = join(__dirname, "..");
const stale = newerSource(root, join("dist", "index.js"));
if (stale !== undefined) {
    throw new Error(
        `memory-stack: dist/ is older than ${stale}; run \`npm run build\` (or use \`npm run up\`, which builds first) and run pulumi again`,
    );
}

module.exports = require("../dist/index.js");
