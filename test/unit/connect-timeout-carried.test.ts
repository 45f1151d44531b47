// An external databaseUrl's connect_timeout, under Pulumi's mocks: every connection the stack opens (the postgresql
// provider, the schema, the verification) and the exported connection strings wait that long for the server, not a
// default of their own (it was read from the URL, then dropped).
import { beforeAll, describe, expect, it } from "vitest";
import { installMocks, resolve, runStack } from "../support/program";
import { SCHEMA_MIGRATION_TOKEN, VERIFICATION_TOKEN } from "../support/schema-provider";

const url = "postgresql://postgres:supabase-secret@db.example.supabase.co:5432/postgres?sslmode=require&connect_timeout=7";

beforeAll(() => {
    installMocks("dev");
});

describe("an external URL with connect_timeout", () => {
    it("gives it to the schema, the verification, the postgresql provider and the exported strings", async () => {
        const run = await runStack({ provisioner: "external", databaseUrl: url }, "memory-stack-connect-timeout");
        for (const token of [SCHEMA_MIGRATION_TOKEN, VERIFICATION_TOKEN]) {
            const connection = (await resolve(run.find(token).props.connection as never)) as { connectTimeoutSeconds?: number };
            expect(connection.connectTimeoutSeconds, token).toBe(7);
        }
        expect(Number(await resolve(run.find("pulumi:providers:postgresql", "-access-provider").props.connectTimeout as never))).toBe(7);
        for (const output of [run.result.connectionString, run.result.appConnectionString, run.result.adminConnectionString]) {
            expect(await resolve(output)).toContain("connect_timeout=7");
        }
    });
});
