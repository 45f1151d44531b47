// How the dynamic providers' code reaches the provider host. Pulumi serializes a dynamic resource's
// provider into state and the engine runs it in a separate plain-node process
// (@pulumi/pulumi/cmd/dynamic-provider) whose working directory is the project directory, with no
// TypeScript loader. So each serialized stub loads its implementation (components/*/provider.ts)
// from process.cwd() through tsx at call time: the serialized text stays a few lines long, holds
// no secret and no machine path, and what runs in the host is the typechecked, tested module. The
// price: delete runs the provider code of the checkout it is run from (with the old outputs, which
// carry all the rollback's data).
//
// A stub must capture this function by value, never the module it lives in (which Pulumi would
// serialize too): `const load = loadProjectModule;` at module level, then `load(...)` in the stub.
// It captures nothing itself, and requires what it needs when called.

/** Loads a TypeScript file of the project (path relative to the project directory) through tsx. */
export function loadProjectModule<T>(relativeFile: string): T {
    const path = require("node:path");
    const file = path.join(process.cwd(), ...relativeFile.split("/"));
    let tsx: { require(id: string, fromFile: string): unknown };
    try {
        tsx = require("tsx/cjs/api");
    } catch (error) {
        throw new Error(`the memory-stack dynamic providers load their code from the project directory, but tsx is not installed in ${process.cwd()} `
            + `(${(error as Error).message}); run pulumi from the memory-stack directory after npm ci`);
    }
    return tsx.require(file, path.join(process.cwd(), "index.ts")) as T;
}
