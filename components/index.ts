// The memory-stack package as a library, for a Pulumi program of your own:
//   import { MemoryStack, readConfig } from "memory-stack";
//   const stack = new MemoryStack("memory", { config: readConfig() });
export { MemoryStack, type MemoryStackArgs } from "./memory-stack";
export { readConfig } from "./read-config";
export { SchemaMigration, type SchemaMigrationArgs } from "./schema-migration";
export { Verification, type VerificationArgs } from "./verification";
export { ConfigError, parseConfig, type StackConfig } from "../engine/config/config";
