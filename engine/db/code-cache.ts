// V8's code cache for the build's one-file modules: the CLI (dist/cli/memory-stack.bundle.js) and pg
// (dist/vendor/pg.js, which engine/db/pg.ts loads). Node compiles a module from its source at every
// start, half a megabyte here, and each function again when it first runs: about a tenth of the CPU an
// apply spends. The build stores V8's bytecode of every function beside the file (writeCodeCache) and
// requireCompiled hands it to V8, which then compiles nothing it has. Node 22 does this itself
// (module.enableCompileCache); Node 20, which the package supports, does not.
// The cache starts with the SHA-256 of the path and the source it was made for: a file changed since the
// build is compiled from its source, and so is one whose cache V8 refuses (another node, other V8 flags).
// The path counts because V8 keeps the one the cache was made under for stack traces: a package built in
// one place and run from another (packed, then installed) runs without the cache, and its stack traces
// name the files it runs from.
import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import Module, { createRequire } from "node:module";
import * as path from "node:path";
import { Script } from "node:vm";

const DIGEST_BYTES = 32;

/** Where the build puts `file`'s code cache. */
export function codeCacheFile(file: string): string {
    return `${file}.v8-cache`;
}

/** `require(file)` for a CommonJS file of the build, from its code cache when there is one made from this very source. */
export function requireCompiled(file: string): unknown {
    const known = require.cache[file];
    if (known !== undefined) {
        return known.exports;
    }
    // Node maps stack traces through source maps (--enable-source-maps) for the files its own loader compiles only.
    const source = process.sourceMapsEnabled ? undefined : readFileSync(file, "utf8");
    const cachedData = source === undefined ? undefined : storedCache(file, source);
    if (source === undefined || cachedData === undefined) {
        // eslint-disable-next-line @typescript-eslint/no-require-imports -- a path known only at run time
        return require(file);
    }
    // What node's CommonJS loader does with a file, but for the cachedData it has no way to take.
    const script = new Script(Module.wrap(source), { filename: file, cachedData });
    const module = new Module(file);
    module.filename = file;
    require.cache[file] = module;
    try {
        const wrapper = script.runInThisContext() as (...args: unknown[]) => void;
        wrapper.call(module.exports, module.exports, createRequire(file), module, file, path.dirname(file));
    } catch (error) {
        delete require.cache[file];
        throw error;
    }
    module.loaded = true;
    return module.exports;
}

function storedCache(file: string, source: string): Buffer | undefined {
    let stored: Buffer;
    try {
        stored = readFileSync(codeCacheFile(file));
    } catch {
        return undefined;
    }
    return stored.length > DIGEST_BYTES && digest(file, source).equals(stored.subarray(0, DIGEST_BYTES))
        ? stored.subarray(DIGEST_BYTES)
        : undefined;
}

function digest(file: string, source: string): Buffer {
    return createHash("sha256").update(file, "utf8").update("\0").update(source, "utf8").digest();
}

/**
 * Writes `file`'s code cache, for the file as it will be loaded from `loadedAs` (the build makes dist/ under
 * another name, then renames it), with every function compiled (V8 otherwise compiles a function only when
 * it first runs, and a cache made at build time would hold the top level alone). For the build, in a
 * process of its own: V8's flags are switched for the compile and back before the cache is made, since a
 * cache carries the flags it was made under and V8 refuses it under others.
 */
export function writeCodeCache(file: string, loadedAs: string = file): void {
    const source = readFileSync(file, "utf8");
    // Not imported at the top: loading node:v8 costs a start about a millisecond, for the build's sake alone.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { setFlagsFromString } = require("node:v8") as typeof import("node:v8");
    setFlagsFromString("--no-lazy");
    let script: Script;
    try {
        script = new Script(Module.wrap(source), { filename: loadedAs });
    } finally {
        setFlagsFromString("--lazy");
    }
    writeFileSync(codeCacheFile(file), Buffer.concat([digest(loadedAs, source), script.createCachedData()]));
}
