// What `memory-stack apply` grants after the migrations: the rules of the one privilege list
// (engine/render/privileges.ts) on what the schema created, so a CLI-applied schema is usable by its
// roles as soon as they can log in. Nothing the schema did not create is touched: the database,
// schema public and an application's own users table keep their grants, and verification names
// what the roles still lack there. The rollback drops these objects, and their grants with them.
import type { SqlClient } from "../db/client";
import { renderGrants } from "../render/grants";
import { schemaObjectRules } from "../render/privileges";
import { boundedTransaction } from "./bounded";
import { withMigrationLock } from "./lock";
import { readRecords } from "./ownership";
import type { SchemaOptions } from "./render";
import { MigrationSession, type SessionOptions } from "./session";

/** Grants, in one transaction under the migration lock, and returns the statements run; none without rls (no roles to grant to). */
export async function grantSchemaPrivileges(
    client: SqlClient,
    schema: Pick<SchemaOptions, "rls" | "appRole" | "adminRole">,
    options: SessionOptions = {},
): Promise<string[]> {
    if (!schema.rls) {
        return [];
    }
    const session = new MigrationSession(client, options);
    // Under the migration lock: two concurrent GRANTs on one object fail with "tuple concurrently updated".
    return withMigrationLock(session, async () => {
        const { rows } = await client.query<{ database: string }>("select current_database() as database");
        const usersCreated = (await readRecords(client)).some((record) => record.identity === "table public.users");
        const statements = renderGrants(schemaObjectRules({ usersCreated }), {
            database: rows[0].database,
            roles: { app: schema.appRole, admin: schema.adminRole },
        });
        await boundedTransaction(session, "granting the roles their privileges", "Nothing was granted.", async () => {
            for (const statement of statements) {
                await client.query(statement);
            }
        });
        return statements;
    });
}
