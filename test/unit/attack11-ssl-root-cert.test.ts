// An external databaseUrl with sslmode=verify-ca or verify-full and sslrootcert=, under Pulumi's mocks. The
// config demands the CA file for verify-ca ("has sslmode=verify-ca without sslrootcert; name the CA file")
// and checks that it can be read, then resolved the URL into host, port, user, password and sslMode only:
// every connection the stack opens (the postgresql provider, the schema, the verification) and the exported
// connection strings checked the server's certificate against the public CAs instead. A managed server with
// a private CA (Supabase's direct port, RDS with its own bundle) then fails every `pulumi up` with
// "self-signed certificate in certificate chain", and verify-ca can never work at all.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { installMocks, resolve, runStack } from "../support/program";
import { SCHEMA_MIGRATION_TOKEN, VERIFICATION_TOKEN } from "../support/schema-provider";

const PROVIDER = "pulumi:providers:postgresql";
const dir = mkdtempSync(join(tmpdir(), "memory-stack-rootcert-"));
const caFile = join(dir, "ca.crt");

beforeAll(() => {
    installMocks("dev");
    writeFileSync(caFile, "-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n");
});

afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
});

describe.each(["verify-ca", "verify-full"])("an external URL with sslmode=%s and sslrootcert", (sslMode) => {
    const url = `postgresql://postgres:supabase-secret@db.example.supabase.co:5432/postgres?sslmode=${sslMode}&sslrootcert=${caFile}`;

    it("gives the schema and the verification the CA file with the connection", async () => {
        const run = await runStack({ provisioner: "external", databaseUrl: url }, `memory-stack-rootcert-${sslMode}`);
        for (const token of [SCHEMA_MIGRATION_TOKEN, VERIFICATION_TOKEN]) {
            const connection = (await resolve(run.find(token).props.connection as never)) as { sslMode: string; sslRootCert?: string };
            expect(connection.sslMode, token).toBe(sslMode);
            expect(connection.sslRootCert, token).toBe(caFile);
        }
    });

    it("gives the postgresql provider the CA file", async () => {
        const run = await runStack({ provisioner: "external", databaseUrl: url }, `memory-stack-rootcert-provider-${sslMode}`);
        const provider = run.find(PROVIDER, "-access-provider");
        expect(await resolve(provider.props.sslmode as never)).toBe(sslMode);
        expect(await resolve(provider.props.sslrootcert as never)).toBe(caFile);
    });

    it("keeps it in the exported connection strings", async () => {
        const { result } = await runStack({ provisioner: "external", databaseUrl: url }, `memory-stack-rootcert-urls-${sslMode}`);
        for (const output of [result.connectionString, result.appConnectionString, result.adminConnectionString]) {
            expect(await resolve(output)).toContain(`sslrootcert=${encodeURIComponent(caFile)}`);
        }
    });
});
