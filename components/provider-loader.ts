// How the dynamic providers' code reaches Pulumi's provider host. Pulumi serializes a dynamic
// resource's provider into state, and `pulumi up`, `refresh` and `destroy` run that text in a plain
// node process (@pulumi/pulumi/cmd/dynamic-provider) started in the project directory. Each stub
// holds a few lines and this loader, which resolves the implementation by package name —
// `memory-stack/providers`, compiled JavaScript — never by a file path stored in state. So a stack
// keeps its destroy when files move, and the same text works in this repository (Node resolves a
// package's own name from inside it), in a project that installs memory-stack from npm, and in an
// Automation API program whose working directory is elsewhere (the host's own location is tried too).
// Whatever version is installed runs; it refuses state newer than it understands
// (engine/providers/state-version.ts), so an older checkout cannot silently rewrite newer state.
//
// A stub must capture this function by value, never the module it lives in (which Pulumi would
// serialize too): `const load = loadProviders;` at module level, then `load()` in the stub. It
// captures nothing itself and requires what it needs when called.

/** The implementations, from the memory-stack package reachable from the working directory or the host. */
export function loadProviders(): typeof import("../engine/providers") {
    const { createRequire } = require("node:module") as typeof import("node:module");
    const path = require("node:path") as typeof import("node:path");
    const entry = "memory-stack/providers";
    const starts = [process.cwd(), ...(require.main ? [path.dirname(require.main.filename)] : [])];
    const tried: string[] = [];
    for (const start of starts) {
        // Each ancestor in turn: Node resolves a package's own name only from outside any node_modules.
        for (let dir = start; ; dir = path.dirname(dir)) {
            try {
                return createRequire(path.join(dir, "index.js"))(entry);
            } catch (error) {
                const code = (error as { code?: string }).code;
                if (code !== "MODULE_NOT_FOUND" && code !== "ERR_PACKAGE_PATH_NOT_EXPORTED") {
                    throw error;
                }
            }
            tried.push(dir);
            if (path.dirname(dir) === dir) {
                break;
            }
        }
    }
    throw new Error(
        `the memory-stack dynamic providers could not load ${entry}: no memory-stack package is installed in or above ` +
            `${starts.join(" or ")}. Run pulumi in the project that holds memory-stack, after npm ci (which builds it).`,
    );
}
