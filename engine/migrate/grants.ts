// What `memory-stack apply` grants after the migrations: the rules of the one privilege list
// (engine/render/privileges.ts) on what the schema created, so a CLI-applied schema is usable by its
// roles as soon as they can log in. Nothing the schema did not create is touched: the database,
// schema public and an application's own users table keep their grants, and verification names
// what the roles still lack there. The rollback drops these objects, and their grants with them.
import { renderGrants } from "../render/grants";
import { applicationUsersRules, schemaObjectRules } from "../render/privileges";
import { boundedTransaction } from "./bounded";
import { readRecords } from "./ownership";
import type { SchemaOptions } from "./render";
import type { MigrationSession } from "./session";

/**
 * Grants, in one transaction and one round trip, and returns the statements run; none without rls (no
 * roles to grant to). The caller holds the migration lock: two concurrent GRANTs on one object fail
 * with "tuple concurrently updated".
 */
export async function grantUnderLock(
    session: MigrationSession,
    schema: Pick<SchemaOptions, "rls" | "appRole" | "adminRole">,
): Promise<{ granted: string[]; leftToYou: string[] }> {
    if (!schema.rls) {
        return { granted: [], leftToYou: [] };
    }
    const { client } = session;
    const { rows } = await client.query<{ database: string }>("select current_database() as database");
    const usersCreated = (await readRecords(client)).some((record) => record.identity === "table public.users");
    const target = { database: rows[0].database, roles: { app: schema.appRole, admin: schema.adminRole } };
    const statements = renderGrants(schemaObjectRules({ usersCreated }), target);
    await boundedTransaction(session, "granting the roles their privileges", "Nothing was granted.", async () => {
        await client.query(statements.map((statement) => `${statement};`).join("\n"));
    });
    // An application's users keeps the privileges its owner gave it: what the roles need there is said, not granted.
    const leftToYou = usersCreated ? [] : renderGrants(applicationUsersRules(), target);
    return { granted: statements, leftToYou };
}
