// Runs the program the way `pulumi up` runs it (@pulumi/pulumi/cmd/run/run.js), from what Pulumi.yaml
// says: its `main`, and — when runtime.options.typescript is on — ts-node with the project's tsconfig,
// type checking on unless PULUMI_NODEJS_TRANSPILE_ONLY or noCheck says otherwise. Under Pulumi mocks
// instead of an engine. Prints one JSON line: the entry it ran, whether TypeScript sources were compiled
// at start (a .ts loader registered), and the resources the program registered.
"use strict";
const { readFileSync } = require("node:fs");
const path = require("node:path");
const { load } = require("js-yaml");

const root = path.join(__dirname, "..", "..");
process.chdir(root);
const project = load(readFileSync("Pulumi.yaml", "utf8"));
const typescript = project.runtime?.options?.typescript !== false;
const entry = project.main ?? ".";

if (typescript) {
    const tsutils = require("@pulumi/pulumi/tsutils");
    const { tsnodeRequire, typescriptRequire } = tsutils.typeScriptRequireStrings();
    const compilerOptions = tsutils.loadTypeScriptCompilerOptions("tsconfig.json");
    const transpileOnlyEnv = process.env.PULUMI_NODEJS_TRANSPILE_ONLY;
    require(tsnodeRequire).register({
        compiler: typescriptRequire,
        transpileOnly: transpileOnlyEnv ? transpileOnlyEnv === "true" : compilerOptions.noCheck,
        project: "tsconfig.json",
        skipProject: false,
        compilerOptions: {},
    });
}

const pulumi = require("@pulumi/pulumi");
const registered = [];
pulumi.runtime.setMocks(
    {
        newResource(args) {
            registered.push(args.type);
            // result: RandomPassword's; b64Std: RandomId's (a role's password salt, 16 bytes).
            const state = { ...args.inputs, result: "mock-password-0123456789", b64Std: "bW9jay1zYWx0LTAxMjM0NQ==", imageId: "sha256:0" };
            return { id: `${args.name}-id`, state };
        },
        call(args) {
            throw new Error(`unexpected call ${args.token}`);
        },
    },
    "memory-stack",
    process.argv[2] || "dev",
    false,
);
pulumi.runtime.setAllConfig(JSON.parse(process.argv[3] || "{}"));
const program = require(path.join(root, entry));
const compiledAtStart = Boolean(require.extensions[".ts"]);
program.verification.apply(() => {
    setImmediate(() => console.log(JSON.stringify({ entry, compiledAtStart, registered })));
});
