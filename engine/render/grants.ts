// The privilege rules (privileges.ts) as the SQL the postgresql.Grant resources run: what the CLI's
// apply grants, what verification tells an operator to run, and what the integration tests apply.
import { quoteIdentifier } from "../migrate/render";
import { MEMORY_SCHEMA, type Grantee, type PrivilegeRule } from "./privileges";

export interface GrantTarget {
    /** The memory database. */
    database: string;
    /** Role names per grantee. */
    roles: Record<Grantee, string>;
}

/** The statements that create the grants, in lowercase SQL. */
export function renderGrants(rules: readonly PrivilegeRule[], target: GrantTarget): string[] {
    return rules.map(
        (rule) => `grant ${privilegeList(rule)} on ${objectClause(rule, target)} to ${quoteIdentifier(target.roles[rule.grantee])}`,
    );
}

/** The statements that take them back again (what `pulumi destroy` does). */
export function renderRevokes(rules: readonly PrivilegeRule[], target: GrantTarget): string[] {
    return rules.map(
        (rule) => `revoke ${privilegeList(rule)} on ${objectClause(rule, target)} from ${quoteIdentifier(target.roles[rule.grantee])}`,
    );
}

function privilegeList(rule: PrivilegeRule): string {
    const privileges = rule.privileges.map((p) => p.toLowerCase()).join(", ");
    return rule.objectType === "column" ? `${privileges} (${(rule.columns ?? []).map(quoteIdentifier).join(", ")})` : privileges;
}

function objectClause(rule: PrivilegeRule, target: GrantTarget): string {
    const qualified = () =>
        rule.objects.map((object) => `${quoteIdentifier(rule.schema ?? MEMORY_SCHEMA)}.${quoteIdentifier(object)}`).join(", ");
    switch (rule.objectType) {
        case "database":
            return `database ${quoteIdentifier(target.database)}`;
        case "schema":
            return `schema ${quoteIdentifier(rule.schema ?? MEMORY_SCHEMA)}`;
        case "table":
        case "column":
            return `table ${qualified()}`;
        case "function":
            return `function ${qualified()}`;
    }
}
