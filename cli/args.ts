// Command-line arguments → one typed object, or a UsageError (exit 2) naming the flag and what is allowed.
// Schema options are validated by the same rules as the Pulumi config (engine/config/config.ts).
import { parseArgs } from "node:util";
import { ConfigError, parseConfig } from "../engine/config/config";
import { ConnectionUrlError, parseConnectionUrl, type ConnectionSettings } from "../engine/db/url";
import type { SchemaOptions } from "../engine/migrate/render";
import type { LockSettings } from "../engine/migrate/session";

export const USAGE =
    "usage: memory-stack <plan|apply|status|rollback|verify> [--url URL] [--vector] [--dimensions N] [--index hnsw|ivfflat] " +
    "[--no-rls] [--app-role NAME] [--admin-role NAME] [--allow-data-loss] [--lock-timeout MS] [--lock-deadline SECONDS] [--json]";

export const HELP = `${USAGE}

Applies the memory schema with the same engine as the Pulumi stack, for CI pipelines and operators.

commands
  plan       list the migrations an apply would run and every conflict in their way; exit 1 when apply would refuse
  apply      check for conflicts, then apply the pending migrations, each in its own transaction, under the migration lock
  status     applied, pending and drifted migrations; exit 1 unless the schema is up to date
  rollback   remove every object the schema recorded as created, nothing else; refuses while they hold data
  verify     check every object and behaviour of the schema in a rolled-back transaction;
             exit 1 with a report naming each missing or broken object

options
  --url URL             the direct connection (never the pooler); default: $DATABASE_URL.
                        TLS only when the URL says ?sslmode=require (or verify-ca, verify-full)
  schema options: on a migrated database the ones its ledger records are used; a flag that
  contradicts them is refused (apply --vector on a jsonb database is the planned switch to vector)
  --vector              embeddings as vector(N) with an ANN index (pgvector); default: jsonb arrays
  --dimensions N        vector dimensions, 1-2000 with --vector; default: 1536
  --index hnsw|ivfflat  ANN index; default: hnsw
  --no-rls              no row level security
  --app-role NAME       the RLS-subject role; default: memory_app
  --admin-role NAME     the role that sees every row; default: memory_admin
  --allow-data-loss     rollback: drop recorded tables and memory columns even when they hold data
  --lock-timeout MS     lock_timeout of every migration and rollback statement; default: 500
  --lock-deadline SECONDS  keep retrying a blocked migration or rollback this long; default: 300
  --json                print the result as JSON on stdout
  -h, --help            this text

exit codes: 0 done, 1 a check failed or the command refused, 2 bad usage.
Progress goes to stderr, one line per migration with its time; passwords are never printed.`;

export interface CliArgs {
    command: string;
    connection: ConnectionSettings;
    /** The URL with its password replaced by ***, for messages. */
    target: string;
    /** The flags' options over the defaults (what a fresh database gets). */
    schema: SchemaOptions;
    /** Only the schema options a flag gave: resolved against the ledger (engine/migrate/options.ts). */
    requested: Partial<SchemaOptions>;
    locks: LockSettings;
    allowDataLoss: boolean;
    json: boolean;
}

export class UsageError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "UsageError";
    }
}

/** `commands` are the names main() can run (cli/commands.ts). Returns "help" for -h. */
export function parseCliArgs(argv: string[], env: NodeJS.ProcessEnv, commands: readonly string[]): CliArgs | "help" {
    let parsed: ReturnType<typeof parse>;
    try {
        parsed = parse(argv);
    } catch (error) {
        throw new UsageError((error as Error).message.replace(/\. To specify a positional argument.*$/s, ""));
    }
    const { values, positionals } = parsed;
    if (values.help) {
        return "help";
    }
    const [command, ...extra] = positionals;
    if (command === undefined) {
        throw new UsageError(`a command is required: ${commands.join(", ")}`);
    }
    if (!commands.includes(command)) {
        throw new UsageError(`unknown command ${JSON.stringify(command)}; commands: ${commands.join(", ")}`);
    }
    if (extra.length > 0) {
        throw new UsageError(`unexpected argument ${JSON.stringify(extra[0])}`);
    }
    if (values["allow-data-loss"] && command !== "rollback") {
        throw new UsageError("--allow-data-loss only applies to rollback");
    }
    const url = values.url ?? env.DATABASE_URL;
    if (url === undefined || url.trim() === "") {
        throw new UsageError("no database: pass --url postgresql://user:password@host:5432/database or set DATABASE_URL");
    }
    return {
        command,
        connection: parseDatabaseUrl(url),
        target: redactUrl(url),
        ...schemaOptions(values),
        allowDataLoss: values["allow-data-loss"] === true,
        json: values.json === true,
    };
}

function parse(argv: string[]) {
    return parseArgs({
        args: argv,
        allowPositionals: true,
        strict: true,
        options: {
            url: { type: "string" },
            vector: { type: "boolean" },
            dimensions: { type: "string" },
            index: { type: "string" },
            "no-rls": { type: "boolean" },
            "app-role": { type: "string" },
            "admin-role": { type: "string" },
            "allow-data-loss": { type: "boolean" },
            "lock-timeout": { type: "string" },
            "lock-deadline": { type: "string" },
            json: { type: "boolean" },
            help: { type: "boolean", short: "h" },
        },
    });
}

const FLAGS: Record<string, string> = {
    vectorDimensions: "--dimensions",
    vectorIndex: "--index",
    appRole: "--app-role",
    adminRole: "--admin-role",
    vector: "--vector",
    rls: "--no-rls",
    "migration.lockTimeoutMs": "--lock-timeout",
    "migration.lockDeadlineSeconds": "--lock-deadline",
};

/** The flag that sets a schema option or config key, for messages. */
export function flagFor(key: string): string {
    return FLAGS[key] ?? key;
}

const SCHEMA_KEYS = ["vector", "vectorDimensions", "vectorIndex", "rls", "appRole", "adminRole"] as const;

function schemaOptions(values: ReturnType<typeof parse>["values"]): Pick<CliArgs, "schema" | "requested" | "locks"> {
    const raw: Record<string, string | undefined> = {
        vector: values.vector ? "true" : undefined,
        vectorDimensions: values.dimensions,
        vectorIndex: values.index,
        rls: values["no-rls"] ? "false" : undefined,
        appRole: values["app-role"],
        adminRole: values["admin-role"],
    };
    const migration = { lockTimeoutMs: values["lock-timeout"], lockDeadlineSeconds: values["lock-deadline"] };
    const given = Object.fromEntries(Object.entries(raw).filter(([, value]) => value !== undefined));
    try {
        // The stack's own rules (dimensions within pgvector's index limit, distinct roles, identifiers).
        const config = parseConfig({ ...given, migration: JSON.stringify(migration) });
        const schema = Object.fromEntries(SCHEMA_KEYS.map((key) => [key, config[key]])) as unknown as SchemaOptions;
        return {
            schema,
            requested: Object.fromEntries(SCHEMA_KEYS.filter((key) => key in given).map((key) => [key, config[key]])),
            locks: { timeoutMs: config.migration.lockTimeoutMs, deadlineSeconds: config.migration.lockDeadlineSeconds },
        };
    } catch (error) {
        if (error instanceof ConfigError) {
            const flag = FLAGS[error.key] ?? error.key;
            throw new UsageError(`${flag} ${JSON.stringify(error.value)}: ${error.allowed}`);
        }
        throw error;
    }
}

export function parseDatabaseUrl(url: string): ConnectionSettings {
    try {
        return parseConnectionUrl(url);
    } catch (error) {
        if (error instanceof ConnectionUrlError) {
            throw new UsageError(`the database URL ${error.shown ?? redactUrl(url)} ${error.message}`);
        }
        throw error;
    }
}

/** The URL with its password replaced by ***; what messages show. */
export function redactUrl(url: string): string {
    return url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/@?#]*):[^@/?#]*@/i, "$1:***@");
}
