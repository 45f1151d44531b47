// The package entry `memory-stack/providers`: the implementations behind the dynamic resources'
// serialized stubs (components/provider-loader.ts). Plain TypeScript, compiled to dist/; no Pulumi.
// What they throw passes the redaction rule on its way to Pulumi (./redacting.ts).
import * as deployGuardProvider from "./deploy-guard";
import * as schemaMigrationProvider from "./schema-migration";
import * as verificationProvider from "./verification";
import { redactingErrors } from "./redacting";

export const deployGuard = redactingErrors(deployGuardProvider);
export const schemaMigration = redactingErrors(schemaMigrationProvider);
export const verification = redactingErrors(verificationProvider);
