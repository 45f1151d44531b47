#!/usr/bin/env node
// `npm run up|preview|destroy|refresh [-- --stack NAME] [-- pulumi flags]`: runs the Pulumi CLI against a local
// file state backend under the repo (unless PULUMI_BACKEND_URL is set), creating the stack on first use,
// so no Pulumi account is needed.
"use strict";
const { spawnSync } = require("node:child_process");
const { mkdirSync } = require("node:fs");
const { join } = require("node:path");

const DEV_PASSPHRASE = "memory-stack-dev-only"; // encrypts the dev stack's secrets; never use it beyond dev

// Flags of pulumi up/preview/destroy/refresh that take a value: their value is never read as a stack.
const VALUE_SHORTHANDS = new Set(["c", "m", "p", "t", "v"]); // --config, --message, --parallel, --target, --verbose
const VALUE_FLAGS = new Set([
    "--config",
    "--config-file",
    "--message",
    "--parallel",
    "--target",
    "--replace",
    "--target-replace",
    "--exclude",
    "--verbose",
    "--secrets-provider",
    "--policy-pack",
    "--policy-pack-config",
    "--color",
]);

/**
 * The stack the arguments select, every way the Pulumi CLI takes one (`--stack X`, `--stack=X`, `-s X`,
 * `-sX`, `-s=X`, `-ys X`), else PULUMI_STACK, else dev; and the arguments without it.
 */
function selectStack(args, env) {
    const named = [];
    const rest = [];
    const next = (i) => {
        if (i + 1 >= args.length) {
            fail(2, "--stack (-s) needs a name, for example --stack vector");
        }
        return args[i + 1];
    };
    for (let i = 0; i < args.length; i++) {
        const arg = args[i];
        if (arg === "--") {
            rest.push(...args.slice(i));
            break;
        } else if (arg === "--stack") {
            named.push(next(i++));
        } else if (arg.startsWith("--stack=")) {
            named.push(arg.slice("--stack=".length));
        } else if (VALUE_FLAGS.has(arg)) {
            rest.push(arg, next(i++));
        } else if (/^-[^-]/.test(arg)) {
            // A cluster of shorthands, as pflag reads it: booleans until one that takes a value, which takes the
            // rest of the cluster (after an optional "=") or, at its end, the next argument.
            let j = 1;
            while (j < arg.length && arg[j] !== "s" && !VALUE_SHORTHANDS.has(arg[j])) {
                j++;
            }
            const value = arg.slice(j + 1).replace(/^=/, "");
            if (arg[j] === "s") {
                named.push(value !== "" ? value : next(i++));
                if (j > 1) {
                    rest.push(arg.slice(0, j));
                }
            } else {
                rest.push(arg);
                if (j < arg.length && value === "" && !arg.endsWith("=")) {
                    rest.push(next(i++));
                }
            }
        } else {
            rest.push(arg);
        }
    }
    if (named.some((name) => name.trim() === "")) {
        fail(2, "--stack (-s) needs a name, for example --stack vector");
    }
    const distinct = [...new Set(named)];
    if (distinct.length > 1) {
        fail(2, `the arguments select more than one stack (${distinct.join(", ")}); give one`);
    }
    return { stack: distinct[0] ?? (env.PULUMI_STACK || "dev"), rest };
}

function main(argv) {
    const [command, ...args] = argv;
    if (!["up", "preview", "destroy", "refresh"].includes(command)) {
        fail(2, `usage: node scripts/pulumi.js up|preview|destroy|refresh [--stack NAME] [pulumi flags]`);
    }
    const { stack, rest } = selectStack(args, process.env);
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
    // Our --stack comes after the user's flags (pflag keeps the last): Pulumi runs the stack the passphrase was chosen for.
    const end = rest.indexOf("--");
    const flags = end < 0 ? [...rest, "--stack", stack] : [...rest.slice(0, end), "--stack", stack, ...rest.slice(end)];
    const result = run([command, ...flags], env, root);
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
