// The package entry `memory-stack/providers`: the implementations behind the two dynamic resources'
// serialized stubs (components/provider-loader.ts). Plain TypeScript, compiled to dist/; no Pulumi.
export * as schemaMigration from "./schema-migration";
export * as verification from "./verification";
