// The build's V8 code cache (engine/db/code-cache.ts): the CLI's file and pg's start from it, and a file
// that no longer is what the cache was made from runs as it now is.
import { execFileSync } from "node:child_process";
import { copyFileSync, existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { REPO } from "../support/stack-files";

const CODE_CACHE = join(REPO, "dist", "engine", "db", "code-cache.js");

/** Runs `script` in a node whose vm.Script records what each compile was given and whether V8 took it; prints its JSON. */
function withCompilesSeen(
    script: string,
    args: string[] = [],
    nodeOptions: string[] = [],
): { compiled: [string, boolean, boolean][]; result?: unknown } {
    const spy = `
        const vm = require("node:vm");
        const compiled = [];
        vm.Script = class extends vm.Script {
            constructor(source, options) {
                super(source, options);
                compiled.push([options.filename, options.cachedData !== undefined, this.cachedDataRejected === true]);
            }
        };
        globalThis.report = (result) => console.log(JSON.stringify({ compiled, result }));
        ${script}`;
    const output = execFileSync(process.execPath, [...nodeOptions, "-e", spy, ...args], { cwd: REPO, encoding: "utf8", stdio: "pipe" });
    return JSON.parse(output) as { compiled: [string, boolean, boolean][]; result?: unknown };
}

describe("the build's code cache", () => {
    it("is what the CLI's one file and pg start from, and V8 takes both", () => {
        const { compiled } = withCompilesSeen(`
            require(${JSON.stringify(join(REPO, "dist", "cli", "memory-stack.js"))})
                .main(["status", "--url", "postgresql://u:p@127.0.0.1:1/d?connect_timeout=2"], {}, { stdout() {}, stderr() {} })
                .then(() => report());`);
        expect(compiled).toEqual([
            [join(REPO, "dist", "cli", "memory-stack.bundle.js"), true, false],
            [join(REPO, "dist", "vendor", "pg.js"), true, false],
        ]);
        expect(existsSync(join(REPO, "dist", "cli", "memory-stack.bundle.js.v8-cache"))).toBe(true);
    });

    it("is left alone by help and the version, which run a sliver of the CLI", () => {
        for (const args of [["--help"], ["apply", "--help"], ["-V"]]) {
            const { compiled, result } = withCompilesSeen(`
                require(${JSON.stringify(join(REPO, "dist", "cli", "memory-stack.js"))})
                    .main(${JSON.stringify(args)}, {}, { stdout() {}, stderr() {} })
                    .then((code) => report(code));`);
            expect({ args, compiled, result }).toEqual({ args, compiled: [], result: 0 });
        }
    });

    it("is not used when node maps stack traces through source maps, which it does only for what its own loader compiles", () => {
        const { compiled } = withCompilesSeen(
            `require(${JSON.stringify(join(REPO, "dist", "engine", "db", "pg.js"))}); report();`,
            [],
            ["--enable-source-maps"],
        );
        expect(compiled).toEqual([]);
    });

    it("is not used for a file changed since it was made, even to the same length", () => {
        const dir = mkdtempSync(join(tmpdir(), "memory-stack-code-cache-"));
        const file = join(dir, "module.js");
        writeFileSync(file, 'module.exports = { value: "made", dir: __dirname, self: module.id };\n');
        execFileSync(process.execPath, ["-e", `require(${JSON.stringify(CODE_CACHE)}).writeCodeCache(${JSON.stringify(file)})`]);
        const load = `report(require(${JSON.stringify(CODE_CACHE)}).requireCompiled(${JSON.stringify(file)}));`;

        expect(withCompilesSeen(load)).toEqual({ compiled: [[file, true, false]], result: { value: "made", dir, self: file } });

        writeFileSync(file, 'module.exports = { value: "edit", dir: __dirname, self: module.id };\n');
        const edited = withCompilesSeen(load);
        expect(edited.result).toEqual({ value: "edit", dir, self: file });
        expect(edited.compiled.filter(([, cached]) => cached)).toEqual([]);
    });

    it("is made for the path the file is loaded from: a copy elsewhere runs without it, and stack traces name the file that runs", () => {
        const built = mkdtempSync(join(tmpdir(), "memory-stack-code-cache-"));
        const file = join(built, "module.js");
        writeFileSync(file, "module.exports = () => new Error().stack.split('\\n')[1];\n");
        execFileSync(process.execPath, ["-e", `require(${JSON.stringify(CODE_CACHE)}).writeCodeCache(${JSON.stringify(file)})`]);
        const installed = mkdtempSync(join(tmpdir(), "memory-stack-code-cache-"));
        copyFileSync(file, join(installed, "module.js"));
        copyFileSync(`${file}.v8-cache`, join(installed, "module.js.v8-cache"));
        const where = (path: string) =>
            withCompilesSeen(`report(require(${JSON.stringify(CODE_CACHE)}).requireCompiled(${JSON.stringify(path)})());`);

        expect(where(file)).toEqual({ compiled: [[file, true, false]], result: expect.stringContaining(`${file}:1:`) as unknown });
        const moved = where(join(installed, "module.js"));
        expect(moved.compiled.filter(([, cached]) => cached)).toEqual([]);
        expect(moved.result).toContain(`${join(installed, "module.js")}:1:`);
    });

    it("leaves no half-loaded module behind when the file throws as it loads", () => {
        const dir = mkdtempSync(join(tmpdir(), "memory-stack-code-cache-"));
        const file = join(dir, "throws.js");
        writeFileSync(file, 'exports.partial = true;\nthrow new Error("at load");\n');
        execFileSync(process.execPath, ["-e", `require(${JSON.stringify(CODE_CACHE)}).writeCodeCache(${JSON.stringify(file)})`]);
        const { result } = withCompilesSeen(`
            const { requireCompiled } = require(${JSON.stringify(CODE_CACHE)});
            const attempt = () => { try { requireCompiled(${JSON.stringify(file)}); return "loaded"; } catch (error) { return error.message; } };
            report([attempt(), attempt()]);`);
        expect(result).toEqual(["at load", "at load"]);
    });
});
