// The ledger's options are the default. Every migration row records the schema options it was
// rendered with, so plan, status, verify, rollback and a repeated apply need no flag; a flag (or a
// stack config value) that contradicts the ledger is refused naming both values. The one change that
// is allowed is the explicit, planned variant switch: turning vector on for a jsonb database.
//
// Rows written by releases 1 and 2 hold only the variant; the rest is read where it shows: rls from
// whether 0009_rls.sql ran, the roles from the policies it created.
import type { SqlClient } from "../db/client";
import type { LedgerRow } from "./ledger";
import type { SchemaOptions } from "./render";
import { readStepLedger, type StepRow } from "./step-ledger";
import { compareText } from "../compare";

const KEYS = ["vector", "vectorDimensions", "vectorIndex", "rls", "appRole", "adminRole"] as const;

export class OptionsConflictError extends Error {
    constructor(
        readonly key: keyof SchemaOptions,
        readonly requested: unknown,
        readonly recorded: unknown,
        /** How the caller names the key: "--dimensions", "memory-stack:vectorDimensions". */
        readonly shownAs: string,
        reason: string,
        recordedIn = "the database's ledger",
    ) {
        super(
            `${shownAs} asks for ${key} ${JSON.stringify(requested)}, but ${recordedIn} records ${key} ${JSON.stringify(recorded)}; nothing was done. ` +
                reason,
        );
        this.name = "OptionsConflictError";
    }
}

/**
 * The options the database was migrated with, as far as the ledger (and for old rows the catalog) tells; {} for a
 * fresh database. A switch to vector under way (steps done of a vector migration, step-ledger.ts) counts as vector:
 * the next apply finishes it, and every other command sees the variant it is becoming.
 */
export async function recordedOptions(client: SqlClient, ledger: LedgerRow[], steps?: StepRow[]): Promise<Partial<SchemaOptions>> {
    const recorded = await ledgerOptions(client, ledger);
    const switching = (steps ?? (await readStepLedger(client)))
        .map((row) => /^vector\((\d+),(hnsw|ivfflat)\)$/.exec(row.variant))
        .find((match) => match !== null);
    return switching && recorded.vector === false
        ? { ...recorded, vector: true, vectorDimensions: Number(switching[1]), vectorIndex: switching[2] as SchemaOptions["vectorIndex"] }
        : recorded;
}

async function ledgerOptions(client: SqlClient, ledger: LedgerRow[]): Promise<Partial<SchemaOptions>> {
    if (ledger.length === 0) {
        return {};
    }
    const latest = [...ledger].sort((a, b) => a.appliedAt.getTime() - b.appliedAt.getTime() || compareText(a.name, b.name)).at(-1)!;
    if (latest.options) {
        return pick(latest.options);
    }
    const vector = ledger.map((row) => /^vector\((\d+),(hnsw|ivfflat)\)$/.exec(row.variant)).find((match) => match !== null);
    const rls = ledger.some((row) => row.name === "0009_rls.sql");
    const inferred: Partial<SchemaOptions> = vector
        ? { vector: true, vectorDimensions: Number(vector[1]), vectorIndex: vector[2] as SchemaOptions["vectorIndex"], rls }
        : { vector: false, rls };
    if (rls) {
        const roles = await client.query<{ policy: string; role: string }>(
            // Before the migration lock, on the caller's search_path: pg_catalog's functions and operators by name (an exact
            // =(oid, regclass) planted in public would win over pg_catalog's =(oid, oid)).
            `select p.polname as policy, r.rolname as role from pg_catalog.pg_policy p cross join pg_catalog.unnest(p.polroles) as g(role)
               join pg_catalog.pg_roles r on r.oid operator(pg_catalog.=) g.role
              where p.polrelid operator(pg_catalog.=) pg_catalog.to_regclass('public.sessions')::pg_catalog.oid
                and p.polname operator(pg_catalog.=) any ('{sessions_own_rows,sessions_admin_all}'::pg_catalog.name[])`,
        );
        const app = roles.rows.find((row) => row.policy === "sessions_own_rows")?.role;
        const admin = roles.rows.find((row) => row.policy === "sessions_admin_all")?.role;
        Object.assign(inferred, app ? { appRole: app } : {}, admin ? { adminRole: admin } : {});
    }
    return inferred;
}

export interface ResolveOptions {
    /** What the caller asked for: CLI flags given (undefined when absent), or the whole stack config. */
    requested: Partial<SchemaOptions>;
    recorded: Partial<SchemaOptions>;
    /** Used for what neither names. */
    defaults: SchemaOptions;
    /** apply and plan may switch a jsonb database to vector (an explicit, planned step); other commands may not. */
    allowVectorSwitch: boolean;
    /** How a key is shown in a refusal: a flag or a config key. */
    shownAs: (key: keyof SchemaOptions) => string;
    /** Where `recorded` comes from, in a refusal. Default: the database's ledger. */
    recordedIn?: string;
}

/** The options a command runs with: the ledger's, then what was requested, then the defaults; throws OptionsConflictError. */
export function resolveSchemaOptions(options: ResolveOptions): SchemaOptions {
    const { requested, recorded, defaults, shownAs } = options;
    const switching = options.allowVectorSwitch && recorded.vector === false && requested.vector === true;
    for (const key of KEYS) {
        const wanted = requested[key];
        const had = recorded[key];
        if (wanted === undefined || had === undefined || wanted === had) {
            continue;
        }
        if (key === "vector" && switching) {
            continue;
        }
        // A jsonb database has no dimensions or index yet: the switch sets them.
        if ((key === "vectorDimensions" || key === "vectorIndex") && recorded.vector === false) {
            continue;
        }
        throw new OptionsConflictError(key, wanted, had, shownAs(key), reason(key, options.allowVectorSwitch), options.recordedIn);
    }
    const base = recorded.vector === false ? omit(recorded, ["vectorDimensions", "vectorIndex"]) : recorded;
    return { ...defaults, ...pick(requested), ...pick(base), ...(switching ? pick(requested) : {}) };
}

function reason(key: keyof SchemaOptions, switchable: boolean): string {
    switch (key) {
        case "vector":
            return switchable
                ? "Turning vector off on a live stack is not supported (the embeddings are vector(N) now, or a switch to vector is under way: `memory-stack status` names its steps done): leave it on, or roll the schema back (it drops the memory tables) and apply again."
                : "Only apply (and plan) switch a jsonb database to vector; leave the flag out and the ledger's variant is used.";
        case "vectorDimensions":
        case "vectorIndex":
            return "The embedding columns and their index were built for the recorded value: leave the flag out (or set it back), or roll the schema back and apply again.";
        default:
            return "The policies and grants were made for the recorded value: leave the flag out (or set it back), or roll the schema back and apply again.";
    }
}

function pick(options: Partial<SchemaOptions>): Partial<SchemaOptions> {
    return Object.fromEntries(KEYS.filter((key) => options[key] !== undefined).map((key) => [key, options[key]])) as Partial<SchemaOptions>;
}

function omit(options: Partial<SchemaOptions>, keys: (keyof SchemaOptions)[]): Partial<SchemaOptions> {
    return Object.fromEntries(Object.entries(options).filter(([key]) => !keys.includes(key as keyof SchemaOptions)));
}
