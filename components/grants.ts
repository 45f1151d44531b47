// One postgresql.Grant per rule of privileges.ts, after the schema migration: the grants name its
// tables, views and functions, which exist only once it has run. Depending on the schema also
// orders `pulumi destroy`: the grants are revoked before the schema rolls back.
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
}

export class Grants extends pulumi.ComponentResource {
    /** Every grant, keyed by its rule's key. */
    readonly grants: Record<string, postgresql.Grant>;

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
        this.registerOutputs({});
    }
}
