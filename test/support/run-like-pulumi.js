// Runs index.ts the way `pulumi up` runs a TypeScript program (@pulumi/pulumi/cmd/run/run.js): the
// same TypeScript and ts-node resolution, the same compiler options, type checking on, under Pulumi
// mocks instead of an engine. Prints one JSON line: the resources the program registered.
"use strict";
const path = require("node:path");
const root = path.join(__dirname, "..", "..");
process.chdir(root);
const tsutils = require("@pulumi/pulumi/tsutils");
const { tsnodeRequire, typescriptRequire } = tsutils.typeScriptRequireStrings();
const compilerOptions = tsutils.loadTypeScriptCompilerOptions("tsconfig.json");
require(tsnodeRequire).register({
    compiler: typescriptRequire,
    project: "tsconfig.json",
    skipProject: false,
    compilerOptions: { target: "ES2020", module: "nodenext", moduleResolution: "nodenext", sourceMap: "true", ...compilerOptions },
});

const pulumi = require("@pulumi/pulumi");
const registered = [];
pulumi.runtime.setMocks(
    {
        newResource(args) {
            registered.push(args.type);
            return { id: `${args.name}-id`, state: { ...args.inputs, result: "mock-password-0123456789", imageId: "sha256:0" } };
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
const program = require(path.join(root, "index.ts"));
program.verification.apply(() => {
    setImmediate(() => console.log(JSON.stringify({ typescript: require(typescriptRequire).version, tsnode: tsnodeRequire, registered })));
});
