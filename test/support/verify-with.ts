// One applied and granted database for a test file, and verification of it with a change made first: the change
// runs inside the transaction verification itself ends (verifySchema opens its own, a nested `begin` is only a
// warning, and always rolls back), so every case meets the schema as applied plus its own change.
import { applyMigrations, describeVariant } from "../../engine/migrate/index";
import { expectationsFor } from "../../engine/verify/expected";
import { verifySchema, type VerificationReport } from "../../engine/verify/index";
import { migrationsFor } from "./apply-sql";
import { grantStackPrivileges, schemaDatabase, type SchemaDatabase } from "./schema-db";

export interface VerifiedSchema {
    schema: SchemaDatabase;
    /** Verification after `sql` ({app}: the app role, quoted), both rolled back. */
    verifyWith(sql: string): Promise<VerificationReport>;
}

export async function verifiedSchema(prefix: string): Promise<VerifiedSchema> {
    const schema = await schemaDatabase(prefix, {}, false);
    await applyMigrations(schema.client, migrationsFor(schema.options), { variant: describeVariant(schema.options) });
    await grantStackPrivileges(schema.client, schema.options);
    return {
        schema,
        async verifyWith(sql) {
            const expected = await expectationsFor(schema.options, migrationsFor(schema.options));
            await schema.client.query("begin");
            try {
                await schema.client.query(sql.replace(/\{app\}/g, `"${schema.options.appRole}"`));
            } catch (error) {
                await schema.client.query("rollback");
                throw error;
            }
            return verifySchema(schema.client, expected);
        },
    };
}
