// Command-line arguments → one typed object, or a UsageError (exit 2) naming the flag and what is allowed.
// Schema options are validated by the same rules as the Pulumi config (engine/config/config.ts).
import { parseArgs } from "node:util";
import { ConfigError, parseConfig } from "../engine/config/config";
import { ConnectionUrlError, parseConnectionUrl, type ConnectionSettings } from "../engine/db/url";
import type { SchemaOptions } from "../engine/migrate/render";

export const USAGE =
    "usage: memory-stack <plan|apply|status|rollback|verify> [--url URL] [--vector] [--dimensions N] [--index hnsw|ivfflat] " +
    "[--no-rls] [--app-role NAME] [--admin-role NAME] [--maintenance-work-mem MB] [--allow-data-loss] [--json]";

export const HELP = `${USAGE}

Applies the memory schema with the same engine as the Pulumi stack, for CI pipelines and operators.

commands
  plan       list the migrations an apply would run; exit 1 if the database drifted (apply would refuse)
  apply      apply the pending migrations, each in its own transaction, under the migration lock
  status     applied, pending and drifted migrations; exit 1 unless the schema is up to date
  rollback   remove everything the schema added, nothing else; refuses while memory tables hold rows
  verify     check every object and behaviour of the schema in a rolled-back transaction;
             exit 1 with a report naming each missing or broken object

options
  --url URL             the direct connection (never the pooler); default: $DATABASE_URL.
                        TLS only when the URL says ?sslmode=require (or verify-ca, verify-full)
  --vector              embeddings as vector(N) with an ANN index (pgvector); default: jsonb arrays
  --dimensions N        vector dimensions, 1-2000 with --vector; default: 1536
  --index hnsw|ivfflat  ANN index; default: hnsw
  --no-rls              no row level security
  --app-role NAME       the RLS-subject role; default: memory_app
  --admin-role NAME     the role that sees every row; default: memory_admin
  --maintenance-work-mem MB
                        apply: upper bound of maintenance_work_mem for an index a migration builds
                        (sized for the build below it); default: 1024
  --allow-data-loss     rollback: drop memory tables even when they hold rows
  --json                print the result as JSON on stdout
  -h, --help            this text

exit codes: 0 done, 1 a check failed or the command refused, 2 bad usage.
Progress goes to stderr: one line per migration with its time, the steps of a migration that runs
in steps (rows done of a batched one), and the server's notices; passwords are never printed.`;

export interface CliArgs {
    command: string;
    connection: ConnectionSettings;
    /** The URL with its password replaced by ***, for messages. */
    target: string;
    schema: SchemaOptions;
    allowDataLoss: boolean;
    /** apply: upper bound of maintenance_work_mem (MB) for an index build. */
    maintenanceWorkMemMb: number;
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
    if (values["maintenance-work-mem"] !== undefined && command !== "apply") {
        throw new UsageError("--maintenance-work-mem only applies to apply");
    }
    const url = values.url ?? env.DATABASE_URL;
    if (url === undefined || url.trim() === "") {
        throw new UsageError("no database: pass --url postgresql://user:password@host:5432/database or set DATABASE_URL");
    }
    return {
        command,
        connection: parseDatabaseUrl(url),
        target: redactUrl(url),
        ...stackOptions(values),
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
            "maintenance-work-mem": { type: "string" },
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
    "migration.maintenanceWorkMemMb": "--maintenance-work-mem",
};

function stackOptions(values: ReturnType<typeof parse>["values"]): { schema: SchemaOptions; maintenanceWorkMemMb: number } {
    const memory = values["maintenance-work-mem"];
    const raw: Record<string, string | undefined> = {
        migration: memory === undefined ? undefined : JSON.stringify({ maintenanceWorkMemMb: memory }),
        vector: values.vector ? "true" : undefined,
        vectorDimensions: values.dimensions,
        vectorIndex: values.index,
        rls: values["no-rls"] ? "false" : undefined,
        appRole: values["app-role"],
        adminRole: values["admin-role"],
    };
    try {
        // The stack's own rules (dimensions within pgvector's index limit, distinct roles, identifiers).
        const config = parseConfig(Object.fromEntries(Object.entries(raw).filter(([, value]) => value !== undefined)));
        const { vector, vectorDimensions, vectorIndex, rls, appRole, adminRole } = config;
        return {
            schema: { vector, vectorDimensions, vectorIndex, rls, appRole, adminRole },
            maintenanceWorkMemMb: config.migration.maintenanceWorkMemMb,
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
