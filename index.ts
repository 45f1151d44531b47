// Reads the stack's config, builds the stack component, exports what the application needs.
import * as pulumi from "@pulumi/pulumi";
import { readConfig } from "./components/read-config";
import { MemoryStack } from "./components/memory-stack";

const stack = new MemoryStack(`memory-stack-${pulumi.getStack()}`, { config: readConfig() });

export const host = stack.host;
export const port = stack.port;
export const database = stack.database;
export const connectionString = stack.connectionString;
export const dotenv = stack.dotenv;
export const appConnectionString = stack.appConnectionString;
export const adminConnectionString = stack.adminConnectionString;
export const schemaVersion = stack.schema.version;
export const schemaChecksum = stack.schema.checksum;
export const schemaVariant = stack.schema.variant;
export const pooledPort = stack.pooledPort;
export const pooledConnectionString = stack.pooledConnectionString;
export const clientPoolSettings = stack.clientPoolSettings;
export const verification = stack.verification.summary;
