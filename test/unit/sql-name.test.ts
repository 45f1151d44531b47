// The names a message's suggested statement writes (sqlName) read back as themselves when the statement is pasted:
// parsed by PostgreSQL's own parser, in a role specification and as a database name.
import { loadModule, parseSync } from "libpg-query";
import { beforeAll, describe, expect, it } from "vitest";
import { sqlName } from "../../engine/migrate/sql-name";

beforeAll(async () => {
    await loadModule();
});

/** The role a `grant <role> to <grantee>` grants and the grantee, as the parser reads them. */
function grantRoles(sql: string): [string, string] {
    const statement = parseSync(sql).stmts[0].stmt.GrantRoleStmt;
    return [statement.granted_roles[0].AccessPriv.priv_name, statement.grantee_roles[0].RoleSpec.rolename];
}

/** The database a `grant create on database <name> to x` names, as the parser reads it. */
function grantedDatabase(sql: string): string {
    return parseSync(sql).stmts[0].stmt.GrantStmt.objects[0].String.sval;
}

describe("sqlName", () => {
    it.each(["memory_app", "deployer", "order", "user", "left", "authorization", "select", "Deploy-Er", "my db", 'we"ird', "é", "1st"])(
        "writes %s so that a pasted grant reads it back unchanged",
        (name) => {
            expect(grantRoles(`grant ${sqlName(name)} to ${sqlName(name)}`)).toEqual([name, name]);
            expect(grantedDatabase(`grant create on database ${sqlName(name)} to x`)).toBe(name);
        },
    );

    it("leaves a plain lower-case name bare", () => {
        expect(sqlName("memory_app")).toBe("memory_app");
        expect(sqlName("order")).toBe('"order"');
    });
});
