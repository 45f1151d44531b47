// The package entry `memory-stack/providers`: the implementations behind the two dynamic resources'
// serialized stubs (components/provider-loader.ts). Plain TypeScript, compiled to dist/; no Pulumi.
// What they throw passes the redaction rule on its way to Pulumi (./redacting.ts).
import * as schemaMigrationProvider from "./schema-migration";
import * as verificationProvider from "./verification";
import { redactingErrors } from "./redacting";

export const schemaMigration = redactingErrors(schemaMigrationProvider);
export const verification = redactingErrors(verificationProvider);
