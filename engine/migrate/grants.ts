// What `memory-stack apply` grants after the migrations: the rules of the one privilege list
// (engine/render/privileges.ts) on what the schema created, so a CLI-applied schema is usable by its
// roles as soon as they can log in. Nothing the schema did not create is touched: the database,
// schema public and an application's own users table keep their grants, and verification names
// what the roles still lack there. The rollback drops these objects, and their grants with them.
import type { QueryResult } from "pg";
import { describeError } from "../db/errors";
import { textArray } from "../db/literal";
import { renderGrants } from "../render/grants";
import { applicationUsersRules, MEMORY_SCHEMA, schemaObjectRules, type PrivilegeRule } from "../render/privileges";
import type { SqlClient } from "../db/client";
import { reusedSql } from "./identity";
import { boundedTransaction, LockDeadlineError } from "./bounded";
import { readRecords, type RecordedObject } from "./ownership";
import { HAS_PRIVILEGE, privilegeChecks } from "../verify/privileges";
import { quoteIdentifier, type SchemaOptions } from "./render";
import type { MigrationSession } from "./session";
import { revokeUnrestricted, UNRESTRICTED_HELD, type Unrestricted } from "./unrestricted-privileges";

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
): Promise<{ granted: string[]; leftToYou: string[]; revokedFrom?: string[] }> {
    if (!schema.rls) {
        return { granted: [], leftToYou: [] };
    }
    const { client } = session;
    const records = recorded ?? (await readRecords(client));
    const usersCreated = records.some((record) => record.identity === "table public.users");
    const roles = { app: schema.appRole, admin: schema.adminRole };
    const rules = schemaObjectRules({ usersCreated });
    const names = [roles.app, roles.admin];
    // Under the migration lock the session's search_path is pg_catalog alone (lock.ts): the owner runs this on every
    // apply, and a has_*_privilege or format that a role able to create in public planted there with a closer
    // argument match would run with its rights. After a run that created objects, the facts and the recorded names
    // someone else made again come in one round trip.
    // After a run that created objects, what default privileges gave other roles on them comes in that round trip too, and is
    // revoked with the grants (unrestricted-privileges.ts).
    const [{ rows }, reusedNow, unrestricted] = askFirst
        ? [
              await client.query<GrantFacts>(HELD, [names, JSON.stringify(rules.flatMap((rule) => privilegeChecks(rule, roles)))]),
              undefined,
              undefined,
          ]
        : await factsAndReused(client, names, records.length > 0);
    if (rows[0].missing.length > 0) {
        throw new GrantRoleMissingError(rows[0].missing.map((name) => `${name} (${name === roles.app ? "appRole" : "adminRole"})`));
    }
    const target = { database: rows[0].database, roles };
    // An application's users keeps the privileges its owner gave it: what the roles need there is said, not granted.
    const leftToYou = usersCreated ? [] : renderGrants(applicationUsersRules(), target);
    // A deployer with CREATEROLE but no superuser is no member of the roles the schema created (PostgreSQL 15), and
    // verification takes them: made their member, as pulumi up's Access component makes it. Roles the stack did not
    // create are left as they are; verification says what they need.
    const created = new Set(records.filter((record) => record.kind === "role").map((record) => record.name));
    const memberships = rows[0].nonmember
        .filter((name) => created.has(name))
        .map((name) => `grant ${quoteIdentifier(name)} to current_user`);
    if (rows[0].held && memberships.length === 0) {
        return { granted: [], leftToYou };
    }
    const reused = rows[0].held ? [] : (reusedNow ?? (records.length > 0 ? (await client.query<ReusedObject>(REUSED_GRANTED)).rows : []));
    const revokes = (unrestricted ?? []).flatMap(revokeUnrestricted);
    const statements = [...(rows[0].held ? [] : renderGrants(withoutReused(rules, reused), target)), ...memberships, ...revokes];
    // The grants go with the begin, in its round trip; a lock wait is retried there, up to the deadline. Their failure
    // is said as such; a lost commit, or the deadline, as the caller says them.
    let committing = false;
    await boundedTransaction(
        session,
        "granting the roles their privileges",
        "Nothing was granted.",
        async () => undefined,
        async () => {
            committing = true;
            await client.query("commit");
        },
        statements.map((statement) => `${statement};`).join("\n"),
        "catalog",
    ).catch((error: unknown) => {
        if (committing || error instanceof LockDeadlineError) {
            throw error;
        }
        throw new Error(
            `granting ${roles.app} and ${roles.admin} their privileges failed: ${describeError(error)}. Nothing was granted; ${grantRetryAdvice(error)}`,
            { cause: error },
        );
    });
    return {
        granted: statements.slice(0, statements.length - revokes.length),
        leftToYou,
        ...(unrestricted ? { revokedFrom: unrestricted.map((row) => row.grantee) } : {}),
    };
}

// undefined_table, undefined_function: an object the schema created was dropped by hand, and the next plain apply would fail the same way.
const MISSING_OBJECT_SQLSTATES = new Set(["42P01", "42883"]);

function grantRetryAdvice(error: unknown): string {
    return MISSING_OBJECT_SQLSTATES.has((error as { code?: string })?.code ?? "")
        ? "an object the memory schema created is missing (dropped outside the engine), so every plain apply fails the same way. " +
              "Run `memory-stack apply --repair` (or `pulumi refresh`, then `pulumi up`): it re-creates what is missing from its migrations, then grants."
        : "run apply again.";
}

const GRANTED_KINDS = new Set(["table", "view", "materialized view", "function"]);

// The recorded names someone else created again, of the kinds granted on: what withoutReused leaves out.
const REUSED_GRANTED = reusedSql([...GRANTED_KINDS]);

interface ReusedObject {
    kind: string;
    schema: string;
    name: string;
}

/** The grant facts without asking what the roles hold, and (`withReused`) the reused records, in one round trip. */
async function factsAndReused(
    client: SqlClient,
    names: string[],
    withReused: boolean,
): Promise<[{ rows: GrantFacts[] }, ReusedObject[] | undefined, Unrestricted[]]> {
    const facts = `select current_database() as database, false as held, ${missing(textArray(names))}, ${nonMember(textArray(names))}`;
    const results = (await client.query(`${facts};\n${UNRESTRICTED_HELD}${withReused ? `;\n${REUSED_GRANTED}` : ""}`)) as unknown as [
        QueryResult<GrantFacts>,
        QueryResult<Unrestricted>,
        QueryResult<ReusedObject>?,
    ];
    return [results[0], results[2]?.rows ?? [], results[1].rows];
}

/** The rules without the objects under a recorded name someone else created again: those are the application's (identity.ts). */
function withoutReused(rules: PrivilegeRule[], reused: ReusedObject[]): PrivilegeRule[] {
    if (reused.length === 0) {
        return rules;
    }
    const names = new Set(reused.filter((object) => GRANTED_KINDS.has(object.kind)).map((object) => `${object.schema}.${object.name}`));
    return rules.flatMap((rule) => {
        if (rule.objects.length === 0) {
            return [rule]; // the database, a schema
        }
        const objects = rule.objects.filter((object) => !names.has(`${rule.schema ?? MEMORY_SCHEMA}.${object}`));
        return objects.length === 0 ? [] : [{ ...rule, objects }];
    });
}

export class GrantRoleMissingError extends Error {
    constructor(readonly roles: string[]) {
        const one = roles.length === 1;
        super(
            `cannot grant the memory schema's privileges: role${one ? "" : "s"} ${roles.join(" and ")} ${one ? "does" : "do"} not exist. ` +
                `Dropping a role the schema's policies name drops those policies too (drop owned by). Nothing was granted. ` +
                "Run `memory-stack apply --repair` (or `pulumi refresh`, then `pulumi up`): it re-runs the migrations that made what is missing, " +
                "which create a missing role as a nologin role of the stack's (rollback drops it), then grants. " +
                "If the role was your application's own (with a login and a password), create it again yourself first.",
        );
        this.name = "GrantRoleMissingError";
    }
}

interface GrantFacts {
    database: string;
    held: boolean;
    /** The roles ($1) that do not exist. */
    missing: string[];
    /** The roles ($1) that exist and the connecting role is no member of. */
    nonmember: string[];
}

/** SQL: the roles in `names` (a text[] expression) that do not exist. */
const missing = (names: string) =>
    `array(select name from unnest(${names}) as name where not exists (select from pg_roles where rolname = name)) as missing`;

/** SQL: the roles in `names` (a text[] expression) that exist and the connecting role is no member of (a superuser is of all). */
const nonMember = (names: string) =>
    `array(select r.rolname::text from pg_roles r where r.rolname = any(${names}) and not pg_has_role(current_user, r.oid, 'MEMBER')) as nonmember`;

// Whether the roles hold every privilege already (a repeated apply), so that nothing is written then.
const HELD = `
    select current_database() as database, coalesce(bool_and(coalesce(${HAS_PRIVILEGE}, false)), true) as held, ${missing("$1::text[]")}, ${nonMember("$1::text[]")}
      from json_to_recordset($2::json) as c(role text, kind text, schema text, object text, col text, privilege text)
      left join pg_roles r on r.rolname = c.role`;
