#!/usr/bin/env node
// `npm run up|preview|destroy [-- --stack NAME] [-- pulumi flags]`: runs the Pulumi CLI against a local
// file state backend under the repo (unless PULUMI_BACKEND_URL is set), creating the stack on first use,
// so no Pulumi account is needed.
"use strict";
const { spawnSync } = require("node:child_process");
const { mkdirSync } = require("node:fs");
const { join } = require("node:path");

const DEV_PASSPHRASE = "memory-stack-dev-only"; // encrypts the dev stack's secrets; never use it beyond dev

function main(argv) {
    const [command, ...rest] = argv;
    if (!["up", "preview", "destroy", "refresh"].includes(command)) {
        fail(2, `usage: node scripts/pulumi.js up|preview|destroy|refresh [--stack NAME] [pulumi flags]`);
    }
    const stackIndex = rest.indexOf("--stack");
    const stack = stackIndex >= 0 ? rest.splice(stackIndex, 2)[1] : process.env.PULUMI_STACK || "dev";
    if (!stack) {
        fail(2, "--stack needs a name, for example --stack vector");
    }
    const root = join(__dirname, "..");
    const env = { ...process.env };
    if (!env.PULUMI_BACKEND_URL) {
        const stateDir = join(root, ".pulumi-state");
        mkdirSync(stateDir, { recursive: true });
        env.PULUMI_BACKEND_URL = `file://${stateDir}`;
    }
    if (!env.PULUMI_CONFIG_PASSPHRASE && !env.PULUMI_CONFIG_PASSPHRASE_FILE) {
        if (stack !== "dev") {
            fail(
                2,
                `stack "${stack}" needs PULUMI_CONFIG_PASSPHRASE (or PULUMI_CONFIG_PASSPHRASE_FILE): the built-in passphrase is for the dev stack only`,
            );
        }
        env.PULUMI_CONFIG_PASSPHRASE = DEV_PASSPHRASE;
    }
    // The dynamic providers run memory-stack/providers from dist/: never an older build than the program.
    const built = spawnSync(process.execPath, [join(root, "scripts", "build.mjs")], { cwd: root, stdio: "inherit" });
    if (built.status !== 0) {
        fail(built.status ?? 1, "the build (node scripts/build.mjs) failed; fix it and run again");
    }
    run(["stack", "select", "--create", "--secrets-provider", "passphrase", stack], env, root);
    const result = run([command, "--stack", stack, ...rest], env, root);
    process.exit(result);
}

function run(args, env, cwd) {
    const result = spawnSync("pulumi", args, { env, cwd, stdio: "inherit" });
    if (result.error && result.error.code === "ENOENT") {
        fail(1, "the Pulumi CLI is not on PATH; install it (https://www.pulumi.com/docs/install/) and run again");
    }
    if (result.status !== 0 && args[0] === "stack") {
        fail(result.status ?? 1, `could not select or create stack "${args[args.length - 1]}"`);
    }
    return result.status ?? 1;
}

function fail(code, message) {
    console.error(`memory-stack: ${message}`);
    process.exit(code);
}

main(process.argv.slice(2));
