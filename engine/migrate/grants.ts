// What `memory-stack apply` grants after the migrations: the rules of the one privilege list
// (engine/render/privileges.ts) on what the schema created, so a CLI-applied schema is usable by its
// roles as soon as they can log in. Nothing the schema did not create is touched: the database,
// schema public and an application's own users table keep their grants, and verification names
// what the roles still lack there. The rollback drops these objects, and their grants with them.
import { withTransaction, type SqlClient } from "../db/client";
import { DEFAULT_LOCK_TIMEOUT_MS, withMigrationLock } from "./lock";
import { renderGrants } from "../render/grants";
import { schemaObjectRules } from "../render/privileges";
import type { SchemaOptions } from "./render";

/** Grants, in one transaction, and returns the statements run; none without rls (no roles to grant to). */
export async function grantSchemaPrivileges(
    client: SqlClient,
    schema: Pick<SchemaOptions, "rls" | "appRole" | "adminRole">,
): Promise<string[]> {
    if (!schema.rls) {
        return [];
    }
    const { rows } = await client.query<{ database: string; users_created: boolean }>(
        `select current_database() as database,
                exists (select from memory_stack.owned_objects where kind = 'table' and name = 'users') as users_created`,
    );
    const statements = renderGrants(schemaObjectRules({ usersCreated: rows[0].users_created }), {
        database: rows[0].database,
        roles: { app: schema.appRole, admin: schema.adminRole },
    });
    // Under the migration lock: two concurrent GRANTs on one object fail with "tuple concurrently updated".
    await withMigrationLock(client, DEFAULT_LOCK_TIMEOUT_MS, () =>
        withTransaction(client, async () => {
            for (const statement of statements) {
                await client.query(statement);
            }
        }),
    );
    return statements;
}
