// DeployGuard: the stack's first step, a dynamic resource every server-changing resource depends on. Its update refuses
// a change the deployed schema or data volume cannot take (a role renamed, rls or vector off, another database, owner
// or C library) before any of them changes, also under `pulumi up --skip-preview`, which runs no Diff ahead of the
// steps (engine/providers/deploy-guard.ts). It creates nothing; deleting it does nothing.
//
// The serialized stub below loads memory-stack/providers at call time: see ./provider-loader.ts.
import * as pulumi from "@pulumi/pulumi";
import type { ConnectionSettings } from "../engine/db/url";
import type { SchemaOptions } from "../engine/migrate/render";
import { loadProviders } from "./provider-loader";

export interface DeployGuardArgs {
    /** The owner's direct connection, as the schema resource gets it; wrapped secret. */
    connection: pulumi.Input<ConnectionSettings>;
    /** The schema options the stack asks for, checked against the ones the ledger records. */
    schema: SchemaOptions;
    /** docker: the server's image; absent for an external server, whose volume owner and C library are not checked. */
    serverImage?: string;
    /** The stack a database's ledger must name, if any, as the schema's deployer. Default: <project>/<stack> of this program. */
    stack?: string;
}

export const DEPLOY_GUARD_TYPE = "DeployGuard";
/** The type token is pulumi-nodejs:dynamic/memory-stack:DeployGuard. */
export const DEPLOY_GUARD_MODULE = "memory-stack";

// A module-level const, so the serialized stub captures the function itself, not the module.
const load = loadProviders;

const provider: pulumi.dynamic.ResourceProvider = {
    diff: async (id, olds, news) => load().deployGuard.diff(id, olds, news),
    create: async (inputs) => load().deployGuard.create(inputs),
    update: async (id, olds, news) => load().deployGuard.update(id, olds, news),
    read: async (id, props) => load().deployGuard.read(id, props),
    // Nothing to undo, so an older memory-stack without the guard (a downgrade) deletes it too.
    delete: async () => load().deployGuard?.remove(),
};

export class DeployGuard extends pulumi.dynamic.Resource {
    constructor(name: string, args: DeployGuardArgs, opts: pulumi.CustomResourceOptions = {}) {
        super(
            provider,
            name,
            {
                connection: pulumi.secret(args.connection),
                schema: { ...args.schema },
                ...(args.serverImage === undefined ? {} : { serverImage: args.serverImage }),
                stack: args.stack ?? `${pulumi.getProject()}/${pulumi.getStack()}`,
            },
            { ...opts, additionalSecretOutputs: [...(opts.additionalSecretOutputs ?? []), "connection", "reached"] },
            DEPLOY_GUARD_MODULE,
            DEPLOY_GUARD_TYPE,
        );
    }
}
