// The DeployGuard dynamic provider: the stack's first step. Every resource that changes the server (the containers, the
// postgresql provider and so the roles, PgBouncer) depends on it. `pulumi up --skip-preview` runs no Diff ahead of the
// steps: each resource's step is taken once the resources it depends on are done, so the schema resource's refusals
// (./schema-preview-refusals.ts) came only after the postgresql provider had renamed a live role, or a container had been
// replaced. This update refuses the same changes first, and from what the server records rather than from state, which
// an up that failed after this step would have left ahead of the server (a switch to vector refused, then undone).
//
//   diff   → a change when the connection, the schema options or the server image changed; no database needed
//   create and update refuse first a database whose ledger names another stack as the schema's deployer
//   create → the first up (or the first since this guard exists, on a server that runs): where the server answers, the
//            ledger's options, and where the ledger shows the stack there the volume's owner and C library (an upgrade's
//            up may switch vector on an Alpine volume)
//   update → the ledger's options and database, the volume's owner, databases and C library; a server it cannot reach
//            is left to the schema resource's own checks (the roles cannot change then either; a docker container still
//            can), and the last checked inputs stay its state, so the next up checks the change again
//   read, delete → nothing: the guard holds its inputs as last checked and the connection that read the server (secret)
import { withClient } from "../db/client";
import { describeError } from "../db/errors";
import { redact } from "../db/redact";
import type { ConnectionSettings } from "../db/url";
import { readLedger, recordedOptions, type SqlClient } from "../migrate/index";
import type { SchemaOptions } from "../migrate/render";
import { deployedBy, refuseOtherStacks } from "../migrate/deployed-by";
import { canonical } from "./canonical";
import { refuseUndeployable, type Deployed } from "./schema-preview-refusals";

export interface DeployGuardInputs {
    /** The owner's direct connection, as the schema resource gets it; secret. */
    connection: ConnectionSettings;
    /** The schema options the stack asks for, checked against the ones the ledger records. */
    schema: SchemaOptions;
    /** docker: the server's image; absent for an external server. */
    serverImage?: string;
    /** The program's stack, <project>/<stack>: a database whose ledger names another is refused (../migrate/deployed-by.ts). */
    stack?: string;
}

/** The guard's state: its inputs as last checked, and the connection that read the server then. */
export interface DeployGuardOutputs extends DeployGuardInputs {
    /** The connection the last read went through, with the password the server had then; secret. */
    reached?: ConnectionSettings;
}

export const GUARD_ID = "memory-stack-deploy-guard";
const COMPARED = ["connection", "schema", "serverImage"] as const;

export function diff(_id: string, olds: Partial<DeployGuardInputs>, news: DeployGuardInputs): { changes: boolean; replaces: string[] } {
    return { changes: COMPARED.some((key) => canonical(olds[key]) !== canonical(news[key])), replaces: [] };
}

export async function create(inputs: DeployGuardInputs): Promise<{ id: string; outs: DeployGuardOutputs }> {
    const reached = await refuse(undefined, inputs);
    return { id: GUARD_ID, outs: { ...inputs, ...(reached ? { reached } : {}) } };
}

export async function update(_id: string, olds: DeployGuardOutputs, news: DeployGuardInputs): Promise<{ outs: DeployGuardOutputs }> {
    // Unchecked, it keeps what it last checked: with news in state, the next up's diff would find nothing to check.
    const reached = await refuse(olds, news);
    return { outs: reached ? { ...news, reached } : olds };
}

export async function read(id: string, props: DeployGuardOutputs): Promise<{ id: string; props: DeployGuardOutputs }> {
    return { id, props };
}

export async function remove(): Promise<void> {}

/** The connection that read the server (the change passed); undefined when none reached it. */
async function refuse(olds: DeployGuardOutputs | undefined, news: DeployGuardInputs): Promise<ConnectionSettings | undefined> {
    // The database the schema was deployed in, with the credentials the running server has: the last up's; the new ones (a
    // password changed outside the stack); or those of the last read (an up that failed after this guard passed a new
    // password, before the server took it).
    const tries = olds ? [olds.connection, { ...news.connection, database: olds.connection.database }, olds.reached] : [news.connection];
    const candidates = tries.filter(
        (c, at): c is ConnectionSettings => c !== undefined && tries.findIndex((d) => canonical(d) === canonical(c)) === at,
    );
    let failure: unknown;
    for (const connection of candidates) {
        let deployed: Deployed & { stacks: string[] };
        try {
            deployed = await withClient(connection, { applicationName: "memory-stack-guard", connectTimeoutMs: 10_000 }, (client) =>
                readDeployed(client, news.serverImage !== undefined, olds !== undefined),
            );
        } catch (error) {
            failure = error;
            continue;
        }
        // First: another stack's options are no change of this stack's.
        refuseOtherStacks(deployed.stacks, news.stack);
        refuseUndeployable(deployed, news);
        return connection;
    }
    if (olds) {
        process.stderr.write(
            `memory-stack: could not read what the server has deployed to check this change (${redact(
                describeError(failure),
                candidates.map((c) => c.password),
            )}); ` + "the schema resource checks it from the stack's state before it changes the schema\n",
        );
    }
    return undefined;
}

/**
 * The schema's ledger and options; with `docker`, the volume's owner (the bootstrap superuser), databases and C library too.
 * On the first up (not `known`) only where the ledger shows the stack deployed there: a server of the user's own already
 * on the port is no volume of the stack's (the container's port then fails to publish, which says why).
 */
async function readDeployed(client: SqlClient, docker: boolean, known: boolean): Promise<Deployed & { stacks: string[] }> {
    const ledger = await readLedger(client);
    const server = docker && (known || ledger.length > 0);
    const facts = await client.query<{ database: string; owner: string; databases: string[]; libc: string }>(
        // Whoever initdb made the bootstrap superuser (oid 10) is POSTGRES_USER; the C library as the start script reads it.
        `select pg_catalog.current_database() as database,
                (select rolname from pg_catalog.pg_roles where oid operator(pg_catalog.=) 10::pg_catalog.oid) as owner,
                array(select datname::pg_catalog.text from pg_catalog.pg_database) as databases,
                (select case when datcollate operator(pg_catalog.=) any ('{C,POSIX}'::pg_catalog.name[])
                                  or datcollate::pg_catalog.text operator(pg_catalog.~~) 'C.%' then 'any'
                             when datcollversion is null then 'musl' else 'glibc' end
                   from pg_catalog.pg_database where datname operator(pg_catalog.=) pg_catalog.current_database()) as libc`,
    );
    const { database, owner, databases, libc } = facts.rows[0];
    return {
        from: "server",
        appliedMigrations: ledger.map((row) => row.name),
        stacks: deployedBy(ledger),
        ...(ledger.length > 0 ? { schema: await recordedOptions(client, ledger) } : {}),
        database,
        ...(server ? { owner, databases } : {}),
        ...(server && (libc === "musl" || libc === "glibc") ? { libc: { libc, builtBy: "the running server's image" } } : {}),
    };
}
