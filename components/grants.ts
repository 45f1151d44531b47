// One postgresql.Grant per rule of privileges.ts, after the schema migration: the grants name its
// tables, views and functions, which exist only once it has run. Depending on the schema also
// orders `pulumi destroy`: the grants are revoked before the schema rolls back. Also after the
// schema: each authenticator login's membership in the role it may become (Access), and, for the
// logins in plainClaimLogins, EXECUTE on memory_stack.trust_plain_claims(), the switch that lets
// their transaction-local request.jwt.claim.sub count without bind_user (sql/0011_claim_binding.sql).
import * as postgresql from "@pulumi/postgresql";
import * as pulumi from "@pulumi/pulumi";
import type { StackConfig } from "../engine/config/config";
import { privilegeRules, type Grantee } from "../engine/render/privileges";

export interface GrantsArgs {
    /** The validated stack configuration (engine/config/config.ts). */
    config: StackConfig;
    /** The provider connected to the memory database (Access.provider). */
    provider: postgresql.Provider;
    /** The memory database (Access.database). */
    database: pulumi.Input<string>;
    /** The app role's name (Access.appRole, an Output of the Role when the stack creates it). */
    appRole: pulumi.Input<string>;
    /** The admin role's name (Access.adminRole). */
    adminRole: pulumi.Input<string>;
    /** The schema migration resource(s) the grants need. Default: none, for a stack without a schema resource yet. */
    schema?: pulumi.Resource[];
    /** Logins that may only become a role (Access.authenticators, createRoles false). Default: none. */
    authenticators?: { login: pulumi.Input<string>; role: string }[];
}

export class Grants extends pulumi.ComponentResource {
    /** Every grant, keyed by its rule's key, and `trust-plain-claims-<login>` for each plain-claim login. */
    readonly grants: Record<string, postgresql.Grant>;
    /** Each authenticator login's membership in its role. */
    readonly memberships: postgresql.GrantRole[];

    constructor(name: string, args: GrantsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("memory-stack:index:Grants", name, {}, opts);
        const roles: Record<Grantee, pulumi.Input<string>> = { app: args.appRole, admin: args.adminRole };
        this.grants = {};
        for (const rule of privilegeRules({ rolesCreated: args.config.createRoles })) {
            this.grants[rule.key] = new postgresql.Grant(
                `${name}-${rule.key}`,
                {
                    database: args.database,
                    role: roles[rule.grantee],
                    objectType: rule.objectType,
                    ...(rule.schema === undefined ? {} : { schema: rule.schema }),
                    ...(rule.objects.length === 0 ? {} : { objects: [...rule.objects] }),
                    ...(rule.columns === undefined ? {} : { columns: [...rule.columns] }),
                    privileges: [...rule.privileges],
                    withGrantOption: false,
                },
                { parent: this, provider: args.provider, dependsOn: args.schema ?? [] },
            );
        }
        if (args.config.rls) {
            for (const login of args.config.plainClaimLogins) {
                this.grants[`trust-plain-claims-${login}`] = new postgresql.Grant(
                    `${name}-trust-plain-claims-${login}`,
                    {
                        database: args.database,
                        role: login,
                        objectType: "function",
                        schema: "memory_stack",
                        objects: ["trust_plain_claims"],
                        privileges: ["EXECUTE"],
                        withGrantOption: false,
                    },
                    { parent: this, provider: args.provider, dependsOn: args.schema ?? [] },
                );
            }
        }
        this.memberships = (args.authenticators ?? []).map(
            ({ login, role }) =>
                new postgresql.GrantRole(
                    `${name}-${role}-login-member`,
                    { role: login, grantRole: role, withAdminOption: false },
                    { parent: this, provider: args.provider, dependsOn: args.schema ?? [] },
                ),
        );
        this.registerOutputs({});
    }
}
