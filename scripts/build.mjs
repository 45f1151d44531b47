#!/usr/bin/env node
// Compiles the TypeScript of the program, the components, the engine and the CLI to CommonJS in dist/,
// file by file, and the CLI once more as one file (bundleCli), so the CLI and the dynamic providers run
// plain JavaScript: no TypeScript is transpiled when `memory-stack` starts or when Pulumi's provider host
// loads memory-stack/providers. The CLI's file and pg's get V8's code cache (writeCodeCaches).
// The shipped SQL is parsed here too, once (parse-shipped-sql.mjs). Types are checked by `npm run
// typecheck`, not here. Runs on `npm ci` (prepare), before `npm test` (vitest.config.ts) and before
// every `npm run up|preview|destroy|refresh` (scripts/pulumi.js).
import { buildSync } from "esbuild";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, symlinkSync } from "node:fs";
import { createRequire } from "node:module";
import { join, relative } from "node:path";

const ROOT = join(import.meta.dirname, "..");
const SOURCES = ["index.ts", "components", "engine", "cli"];

function typescriptFiles(entry) {
    const path = join(ROOT, entry);
    if (entry.endsWith(".ts")) {
        return [path];
    }
    return readdirSync(path, { recursive: true, withFileTypes: true })
        .filter((file) => file.isFile() && file.name.endsWith(".ts") && !file.name.endsWith(".d.ts"))
        .map((file) => join(file.parentPath, file.name));
}

export function build() {
    const outdir = join(ROOT, "dist");
    // Built beside dist/ and swapped in by two renames: a CLI or provider that starts meanwhile finds a
    // whole dist/, never an emptied one.
    const next = `${outdir}.next-${process.pid}`;
    const previous = `${outdir}.previous-${process.pid}`;
    rmSync(next, { recursive: true, force: true });
    const entryPoints = SOURCES.flatMap(typescriptFiles);
    buildSync({
        entryPoints,
        outdir: next,
        outbase: ROOT,
        format: "cjs",
        platform: "node",
        target: "node20",
        // import() of a sibling file becomes require(): commands and the engine load when used, as CommonJS.
        supported: { "dynamic-import": false },
        sourcemap: "linked",
        logLevel: "warning",
    });
    bundlePg(next);
    bundleCli(next);
    const parsed = spawnSync(process.execPath, [join(ROOT, "scripts", "parse-shipped-sql.mjs"), next], { stdio: "inherit" });
    if (parsed.status !== 0) {
        rmSync(next, { recursive: true, force: true });
        throw new Error(`parsing the shipped SQL (scripts/parse-shipped-sql.mjs) failed with exit ${parsed.status ?? parsed.signal}`);
    }
    try {
        writeCodeCaches(next, outdir);
    } catch (error) {
        rmSync(next, { recursive: true, force: true });
        throw error;
    }
    if (existsSync(outdir)) {
        renameSync(outdir, previous);
    }
    renameSync(next, outdir);
    rmSync(previous, { recursive: true, force: true });
    linkOwnCommand();
    return { files: entryPoints.length, outdir: relative(process.cwd(), outdir) || "." };
}

// pg as one file (dist/vendor/pg.js, engine/db/pg.ts loads it): node finds, reads and compiles its thirty
// modules one by one otherwise, about 7 ms of every `memory-stack` start. Built from node_modules/pg, so
// it is the version package-lock.json holds; its optional native and Cloudflare parts stay outside.
function bundlePg(outdir) {
    const require = createRequire(join(ROOT, "package.json"));
    const { version } = require("pg/package.json");
    buildSync({
        entryPoints: [require.resolve("pg")],
        bundle: true,
        outfile: join(outdir, "vendor", "pg.js"),
        format: "cjs",
        platform: "node",
        target: "node20",
        external: ["pg-native", "pg-cloudflare"],
        banner: { js: `// pg ${version}, bundled from node_modules/pg by scripts/build.mjs` },
        logLevel: "warning",
    });
}

// The CLI as one file (dist/cli/memory-stack.bundle.js, which dist/cli/memory-stack.js loads for
// bin/memory-stack.js): node finds, reads and compiles one module instead of some forty, about a sixth of a
// no-op apply. Packages stay outside it but one, and what the CLI imports only when it needs it (the pending
// work, repair, zod, the SQL parser) still loads only then: esbuild runs a bundled module's top level at its
// first require. The providers and the Pulumi program keep using the file-by-file build.
function bundleCli(outdir) {
    const bundle = (entry, outfile) =>
        buildSync({
            entryPoints: [join(ROOT, "cli", entry)],
            bundle: true,
            outfile: join(outdir, "cli", outfile),
            format: "cjs",
            platform: "node",
            target: "node20",
            external: packagesOutsideBut(INSIDE_CLI),
            supported: { "dynamic-import": false },
            sourcemap: "linked",
            logLevel: "warning",
        });
    bundle("main.ts", "memory-stack.bundle.js");
    // The entry, which loads the bundle from its code cache (writeCodeCaches), is one file too.
    bundle("memory-stack.ts", "memory-stack.js");
}

// V8's bytecode of the two one-file modules, beside them (engine/db/code-cache.ts): a start then compiles
// neither. Made by the node that builds, in a process of its own (it switches V8's flags), for the paths
// the files have once `next` is renamed to `outdir`.
function writeCodeCaches(next, outdir) {
    const files = [join("cli", "memory-stack.bundle.js"), join("vendor", "pg.js")].map((file) => [join(next, file), join(outdir, file)]);
    const script = `const { writeCodeCache } = require(${JSON.stringify(join(next, "engine", "db", "code-cache.js"))});
        for (const [file, loadedAs] of ${JSON.stringify(files)}) writeCodeCache(file, loadedAs);`;
    const made = spawnSync(process.execPath, ["-e", script], { stdio: "inherit" });
    if (made.status !== 0) {
        throw new Error(`making the code cache (engine/db/code-cache.ts) failed with exit ${made.status ?? made.signal}`);
    }
}

// pg-connection-string, which every command loads to read its URL: inside the CLI's file, node neither looks
// for the package nor reads its package.json, about 2 ms of every start. It is the version package-lock.json
// holds, as in dist/vendor/pg.js.
const INSIDE_CLI = ["pg-connection-string"];

/** esbuild's `packages: "external"`, except for the packages in `inside`: the package's own dependencies, subpaths included. */
function packagesOutsideBut(inside) {
    const require = createRequire(join(ROOT, "package.json"));
    const { dependencies, devDependencies } = require("./package.json");
    return Object.keys({ ...dependencies, ...devDependencies })
        .filter((name) => !inside.includes(name))
        .flatMap((name) => [name, `${name}/*`]);
}

// npm links the bins of dependencies into node_modules/.bin, never the project's own: without the link,
// `npx memory-stack` in this checkout has npm search the package tree first, at every start.
function linkOwnCommand() {
    const bin = join(ROOT, "node_modules", ".bin");
    const link = join(bin, "memory-stack");
    if (existsSync(join(ROOT, "node_modules")) && !existsSync(link)) {
        mkdirSync(bin, { recursive: true });
        symlinkSync(join("..", "..", "bin", "memory-stack.js"), link);
    }
}

if (import.meta.filename === process.argv[1]) {
    const started = Date.now();
    const { files, outdir } = build();
    console.log(`built ${files} files into ${outdir}/ in ${Date.now() - started} ms`);
}
