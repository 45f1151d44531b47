// Command-line arguments → one typed object, or a UsageError (exit 2) naming the flag and what is allowed.
// Each flag is declared once below, with its help line; schema flags are validated by the same zod
// schema as the stack config (engine/config/schema-options.ts) and stay requests: undefined when absent.
// Cheap on purpose: `--help` loads neither pg, zod nor the engine's SQL.
import { parseArgs } from "node:util";
import { ConfigError } from "../engine/config/error";
import type { SchemaRequest } from "../engine/config/schema-options";
import {
    ConnectionUrlError,
    parseConnectionUrl,
    SSL_MODES,
    SYSTEM_ROOTS_HINT,
    type ConnectionSettings,
    type SslMode,
    type UrlDefaults,
} from "../engine/db/url";
import { MAX_HALFVEC_INDEX_DIMENSIONS, MAX_VECTOR_INDEX_DIMENSIONS } from "../engine/migrate/limits";
import type { LockSettings } from "../engine/migrate/session";
import { COMMAND_NAMES, COMMAND_SUMMARIES, type CommandName } from "./commands/names";

interface Flag {
    type: "string" | "boolean";
    short?: string;
    /** The value's name in the help, for string flags. */
    value?: string;
    help: string;
    /** The schema option the flag requests. */
    option?: keyof SchemaRequest;
    /** The `migration.*` config key the flag sets. */
    migration?: keyof MigrationFlags;
    /** A flag it makes no sense without. */
    needs?: string;
    /** The only commands it applies to. */
    commands?: CommandName[];
}

export const FLAGS: Record<string, Flag> = {
    url: {
        type: "string",
        value: "URL",
        help: "the direct connection, never a transaction pooler; default: $DATABASE_URL (password: the URL's, else $PGPASSWORD)",
    },
    vector: { type: "boolean", help: "embeddings as vector(N) with an ANN index (pgvector); default: jsonb arrays", option: "vector" },
    dimensions: {
        type: "string",
        value: "N",
        help: `vector dimensions, 1-${MAX_HALFVEC_INDEX_DIMENSIONS} (indexed as halfvec above ${MAX_VECTOR_INDEX_DIMENSIONS}); default: 1536`,
        option: "vectorDimensions",
        needs: "vector",
    },
    index: { type: "string", value: "hnsw|ivfflat", help: "ANN index; default: hnsw", option: "vectorIndex", needs: "vector" },
    "no-rls": { type: "boolean", help: "no row level security", option: "rls" },
    "app-role": { type: "string", value: "NAME", help: "the RLS-subject role; default: memory_app", option: "appRole" },
    "admin-role": { type: "string", value: "NAME", help: "the role that sees every row; default: memory_admin", option: "adminRole" },
    "allow-data-loss": {
        type: "boolean",
        help: "drop recorded tables and memory columns even when they hold data",
        commands: ["rollback"],
    },
    repair: {
        type: "boolean",
        help: "re-create what the schema created and is missing (a dropped role, policy, function), then grant",
        commands: ["apply"],
    },
    "lock-timeout": {
        type: "string",
        value: "MS",
        help: "lock_timeout of every migration and rollback statement; default: 500",
        migration: "lockTimeoutMs",
        commands: ["plan", "apply", "rollback"],
    },
    "maintenance-work-mem": {
        type: "string",
        value: "MB",
        help: "upper bound of maintenance_work_mem for an index a migration builds (sized for the build below it); default: 1024",
        migration: "maintenanceWorkMemMb",
        commands: ["apply"],
    },
    "lock-deadline": {
        type: "string",
        value: "SECONDS",
        help: "keep retrying a blocked migration or rollback this long; default: 300",
        migration: "lockDeadlineSeconds",
        commands: ["plan", "apply", "rollback"],
    },
    json: { type: "boolean", help: "print the result (or the usage error) as JSON on stdout" },
    help: { type: "boolean", short: "h", help: "this text (so does `memory-stack help`)" },
    version: { type: "boolean", short: "V", help: "the version of memory-stack" },
};

export const USAGE = `usage: memory-stack <${COMMAND_NAMES.join("|")}> [--url URL] [--vector [--dimensions N] [--index hnsw|ivfflat]] [--no-rls] [--app-role NAME] [--admin-role NAME] [--allow-data-loss] [--repair] [--lock-timeout MS] [--lock-deadline SECONDS] [--maintenance-work-mem MB] [--json]`;

export const HELP = [
    USAGE,
    "",
    "Applies the memory schema with the same engine as the Pulumi stack, for CI pipelines and operators.",
    "",
    "commands",
    ...COMMAND_NAMES.map((name) => `  ${name.padEnd(10)} ${COMMAND_SUMMARIES[name]}`),
    "",
    "options",
    ...optionLines(),
    "",
    "The URL is read as libpq reads it: percent-encode @ # / ? : % and spaces in a user, password or database name;",
    "?sslmode=disable|allow|prefer|require|verify-ca|verify-full (default prefer), ?connect_timeout=SECONDS,",
    "[::1] for an IPv6 host, ?host=/socket/dir; the password in the URL or in its password parameter.",
    "Prefer DATABASE_URL (or PGPASSWORD) to a password in --url: other users of the machine can read a command line.",
    "",
    "Schema options: on a migrated database the ones its ledger records are used; a flag that contradicts",
    "them is refused (apply --vector on a jsonb database is the planned switch to vector).",
    "",
    "exit codes: 0 done, 1 a check failed or the command refused, 2 bad usage, 130 interrupted (Ctrl-C).",
    "Progress goes to stderr: one line per migration, the steps of a migration that runs in steps (rows done of",
    "a batched one), lock waits and the server's notices; passwords and URL credentials are never printed.",
].join("\n");

/** One line per flag, the descriptions in one column past the longest flag. */
function optionLines(): string[] {
    const rows = Object.entries(FLAGS).map(([name, flag]) => {
        const left = `${flag.short ? `-${flag.short}, ` : ""}--${name}${flag.value ? ` ${flag.value}` : ""}`;
        const scope = flag.needs ? ` (with --${flag.needs})` : flag.commands ? ` (${flag.commands.join(", ")} only)` : "";
        return [left, `${flag.help}${scope}`];
    });
    const width = Math.max(...rows.map(([left]) => left.length)) + 2;
    return rows.map(([left, help]) => `  ${left.padEnd(width)}${help}`);
}

export interface CliArgs {
    command: CommandName;
    connection: ConnectionSettings;
    /** Schema options the flags ask for; the rest comes from the database or the defaults. */
    schema: SchemaRequest;
    /** Lock settings the flags give (the rest are defaults). */
    locks: Partial<LockSettings>;
    /** apply: upper bound of maintenance_work_mem (MB) for an index build; undefined: the default. */
    maintenanceWorkMemMb: number | undefined;
    allowDataLoss: boolean;
    /** apply: re-create recorded objects that are missing. */
    repair: boolean;
    json: boolean;
}

export class UsageError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "UsageError";
    }
}

/** Returns "help" for -h/--help/help, "version" for -V/--version. `env` gives DATABASE_URL and PGPASSWORD, as libpq reads them. */
export async function parseCliArgs(argv: string[], env: NodeJS.ProcessEnv): Promise<CliArgs | "help" | "version"> {
    let parsed: ReturnType<typeof parse>;
    try {
        parsed = parse(argv);
    } catch (error) {
        if (error instanceof UsageError) {
            throw error;
        }
        throw new UsageError((error as Error).message.replace(/\. To specify a positional argument.*$/s, ""));
    }
    const { values, positionals } = parsed;
    const [command, ...extra] = positionals;
    if (command !== undefined && command !== "help" && !(COMMAND_NAMES as readonly string[]).includes(command)) {
        throw new UsageError(`unknown command ${JSON.stringify(command)}; commands: ${COMMAND_NAMES.join(", ")}`);
    }
    if (values.help || command === "help") {
        return "help";
    }
    if (values.version) {
        return "version";
    }
    if (command === undefined) {
        throw new UsageError(`a command is required: ${COMMAND_NAMES.join(", ")}`);
    }
    if (extra.length > 0) {
        throw new UsageError(`unexpected argument ${JSON.stringify(extra[0])}`);
    }
    for (const [name, flag] of Object.entries(FLAGS)) {
        if (values[name] === undefined) {
            continue;
        }
        if (flag.needs && values[flag.needs] === undefined) {
            throw new UsageError(`--${name} needs --${flag.needs}; add --${flag.needs} or leave --${name} out`);
        }
        if (flag.commands && !flag.commands.includes(command as CommandName)) {
            throw new UsageError(`--${name} only applies to ${flag.commands.join(", ")}`);
        }
    }
    for (const role of ["app-role", "admin-role"]) {
        if (values[role] !== undefined && values["no-rls"]) {
            throw new UsageError(`--${role} has no effect with --no-rls: without row level security no role is used; leave --${role} out`);
        }
    }
    if (values.url !== undefined && (values.url as string).trim() === "") {
        throw new UsageError("--url is empty; pass the database's URL, or leave --url out to use DATABASE_URL");
    }
    const url = (values.url as string | undefined) ?? env.DATABASE_URL;
    if (url === undefined || url.trim() === "") {
        throw new UsageError("no database: pass --url postgresql://user:password@host:5432/database or set DATABASE_URL");
    }
    return {
        command: command as CommandName,
        connection: connectionFrom(url, env),
        schema: await schemaRequest(values),
        ...(await migrationSettings(values)),
        allowDataLoss: values["allow-data-loss"] === true,
        repair: values.repair === true,
        json: values.json === true,
    };
}

function parse(argv: string[]) {
    const options = Object.fromEntries(
        Object.entries(FLAGS).map(([name, flag]) => [name, flag.short ? { type: flag.type, short: flag.short } : { type: flag.type }]),
    ) as Record<string, { type: "string" | "boolean"; short?: string }>;
    const parsed = parseArgs({ args: argv, allowPositionals: true, strict: true, options, tokens: true });
    // parseArgs keeps the last of a repeated flag; two different --url values are a mistake to name, not to guess.
    const seen = new Set<string>();
    for (const token of parsed.tokens) {
        if (token.kind === "option") {
            if (seen.has(token.name)) {
                throw new UsageError(`--${token.name} is given more than once; give it once`);
            }
            seen.add(token.name);
        }
    }
    return parsed as { values: Record<string, string | boolean | undefined>; positionals: string[] };
}

/** The flag that requests `option`, for messages. */
export function flagFor(option: string): string {
    const entry = Object.entries(FLAGS).find(([, flag]) => flag.option === option);
    return entry ? `--${entry[0]}` : option;
}

async function schemaRequest(values: Record<string, string | boolean | undefined>): Promise<SchemaRequest> {
    const raw: Record<string, unknown> = {};
    for (const [name, flag] of Object.entries(FLAGS)) {
        if (flag.option !== undefined && values[name] !== undefined) {
            // --no-rls is a request for rls: false.
            raw[flag.option] = name.startsWith("no-") ? false : values[name];
        }
    }
    if (Object.keys(raw).length === 0) {
        return {};
    }
    const { parseSchemaRequest } = await import("../engine/config/schema-keys");
    try {
        return parseSchemaRequest(raw);
    } catch (error) {
        if (error instanceof ConfigError) {
            throw new UsageError(`${flagFor(error.key)} ${JSON.stringify(error.value)}: ${error.allowed}`);
        }
        throw error;
    }
}

/** What the migration flags give, as CliArgs holds it. */
async function migrationSettings(
    values: Record<string, string | boolean | undefined>,
): Promise<Pick<CliArgs, "locks" | "maintenanceWorkMemMb">> {
    const flags = await migrationFlags(values);
    const locks: Partial<LockSettings> = {};
    if (flags.lockTimeoutMs !== undefined) locks.timeoutMs = flags.lockTimeoutMs;
    if (flags.lockDeadlineSeconds !== undefined) locks.deadlineSeconds = flags.lockDeadlineSeconds;
    return { locks, maintenanceWorkMemMb: flags.maintenanceWorkMemMb };
}

type MigrationFlags = { lockTimeoutMs: number; lockDeadlineSeconds: number; maintenanceWorkMemMb: number };

/** --lock-timeout, --lock-deadline and --maintenance-work-mem, checked by the same rules as the stack's migration.* keys. */
async function migrationFlags(values: Record<string, string | boolean | undefined>): Promise<Partial<MigrationFlags>> {
    const given = Object.entries(FLAGS).filter(([name, flag]) => flag.migration !== undefined && values[name] !== undefined);
    if (given.length === 0) {
        return {};
    }
    const { MIGRATION_KEYS } = await import("../engine/config/config");
    const parsed: Partial<MigrationFlags> = {};
    for (const [name, flag] of given) {
        const result = MIGRATION_KEYS[flag.migration!].safeParse(values[name]);
        if (!result.success) {
            throw new UsageError(`--${name} ${JSON.stringify(values[name])}: ${result.error.issues[0].message}`);
        }
        parsed[flag.migration!] = result.data;
    }
    return parsed;
}

/** The URL's settings, with libpq's fallbacks: the password from PGPASSWORD, sslmode from PGSSLMODE, else prefer. */
function connectionFrom(url: string, env: NodeJS.ProcessEnv): ConnectionSettings {
    let settings: ConnectionSettings;
    try {
        settings = parseConnectionUrl(url, urlDefaults(env));
    } catch (error) {
        if (error instanceof ConnectionUrlError) {
            throw new UsageError(`the database URL ${error.shown} ${error.message}`);
        }
        throw error;
    }
    const sslMode = settings.sslMode ?? env.PGSSLMODE ?? "prefer";
    if (!(SSL_MODES as readonly string[]).includes(sslMode)) {
        throw new UsageError(`PGSSLMODE is ${JSON.stringify(sslMode)}; it must be one of ${SSL_MODES.join(", ")}`);
    }
    const password = settings.password === "" ? (env.PGPASSWORD ?? "") : settings.password;
    return { ...settings, password, sslMode: sslMode as SslMode };
}

/** libpq's environment for what a URL leaves out, as psql reads it: PGPORT, PGCONNECT_TIMEOUT, PGSSLROOTCERT. */
function urlDefaults(env: NodeJS.ProcessEnv): UrlDefaults {
    const whole = (name: string, min: number, max: number): number | undefined => {
        const value = env[name];
        if (value === undefined || value === "") {
            return undefined;
        }
        if (!/^-?\d+$/.test(value.trim()) || Number(value) < min || Number(value) > max) {
            throw new UsageError(`${name} is ${JSON.stringify(value)}; it must be a whole number from ${min} to ${max}, or unset`);
        }
        return Number(value);
    };
    if (env.PGSSLROOTCERT === "system") {
        throw new UsageError(`PGSSLROOTCERT is "system"; ${SYSTEM_ROOTS_HINT}`);
    }
    return {
        port: whole("PGPORT", 1, 65535),
        connectTimeoutSeconds: whole("PGCONNECT_TIMEOUT", -(2 ** 31 - 1), 2 ** 31 - 1),
        sslRootCert: env.PGSSLROOTCERT || undefined,
    };
}
