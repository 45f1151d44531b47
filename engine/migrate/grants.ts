// What `memory-stack apply` grants after the migrations: the rules of the one privilege list
// (engine/render/privileges.ts) on what the schema created, so a CLI-applied schema is usable by its
// roles as soon as they can log in. Nothing the schema did not create is touched: the database,
// schema public and an application's own users table keep their grants, and verification names
// what the roles still lack there. The rollback drops these objects, and their grants with them.
import { renderGrants } from "../render/grants";
import { applicationUsersRules, schemaObjectRules } from "../render/privileges";
import { boundedTransaction } from "./bounded";
import { readRecords, type RecordedObject } from "./ownership";
import { HAS_PRIVILEGE, privilegeChecks } from "../verify/privileges";
import type { SchemaOptions } from "./render";
import type { MigrationSession } from "./session";

/**
 * Grants, in one transaction and one round trip, and returns the statements run; none without rls (no
 * roles to grant to), and none when the roles hold them all already (read with has_*_privilege, as
 * verification reads them: grants to PUBLIC and memberships count). `recorded`: the records, when the
 * caller has them. The caller holds the migration lock: two concurrent GRANTs on one object fail
 * with "tuple concurrently updated".
 */
export async function grantUnderLock(
    session: MigrationSession,
    schema: Pick<SchemaOptions, "rls" | "appRole" | "adminRole">,
    recorded?: RecordedObject[],
    /** False when this run created objects: they have no grants yet, so asking is a round trip for nothing. */
    askFirst = true,
): Promise<{ granted: string[]; leftToYou: string[] }> {
    if (!schema.rls) {
        return { granted: [], leftToYou: [] };
    }
    const { client } = session;
    const usersCreated = (recorded ?? (await readRecords(client))).some((record) => record.identity === "table public.users");
    const roles = { app: schema.appRole, admin: schema.adminRole };
    const rules = schemaObjectRules({ usersCreated });
    const { rows } = askFirst
        ? await client.query<{ database: string; held: boolean }>(HELD, [
              JSON.stringify(rules.flatMap((rule) => privilegeChecks(rule, roles))),
          ])
        : await client.query<{ database: string; held: boolean }>("select current_database() as database, false as held");
    const target = { database: rows[0].database, roles };
    // An application's users keeps the privileges its owner gave it: what the roles need there is said, not granted.
    const leftToYou = usersCreated ? [] : renderGrants(applicationUsersRules(), target);
    if (rows[0].held) {
        return { granted: [], leftToYou };
    }
    const statements = renderGrants(rules, target);
    await boundedTransaction(session, "granting the roles their privileges", "Nothing was granted.", async () => {
        await client.query(statements.map((statement) => `${statement};`).join("\n"));
    });
    return { granted: statements, leftToYou };
}

// Whether the roles hold every privilege already (a repeated apply), so that nothing is written then.
const HELD = `
    select current_database() as database, coalesce(bool_and(coalesce(${HAS_PRIVILEGE}, false)), true) as held
      from json_to_recordset($1::json) as c(role text, kind text, schema text, object text, col text, privilege text)
      left join pg_roles r on r.rolname = c.role`;
