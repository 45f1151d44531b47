import { describe, expect, it } from "vitest";
import { FLAGS, HELP, parseCliArgs, UsageError, type CliArgs } from "../../cli/args";
import { COMMAND_NAMES } from "../../cli/commands/names";
import { MAX_HALFVEC_INDEX_DIMENSIONS } from "../../engine/migrate/limits";

const URL = "postgresql://postgres:s3cret%40pw@db.example.com:6543/ybryx?sslmode=require";
const env = { DATABASE_URL: URL };

async function usageError(argv: string[], environment: NodeJS.ProcessEnv = env): Promise<string> {
    try {
        await parseCliArgs(argv, environment);
    } catch (error) {
        if (error instanceof UsageError) {
            return error.message;
        }
        throw error;
    }
    throw new Error(`expected a usage error for ${argv.join(" ")}`);
}

describe("parseCliArgs", () => {
    it("takes the URL from DATABASE_URL, and no schema option it was not asked for", async () => {
        expect(await parseCliArgs(["apply"], env)).toEqual({
            command: "apply",
            connection: {
                host: "db.example.com",
                port: 6543,
                database: "ybryx",
                user: "postgres",
                password: "s3cret@pw",
                sslMode: "require",
            },
            schema: {},
            locks: {},
            allowDataLoss: false,
            repair: false,
            json: false,
        });
    });

    it("maps every flag onto a schema request, --url over DATABASE_URL", async () => {
        const args = await parseCliArgs(
            [
                "rollback",
                "--url",
                "postgres://u:p@h/d",
                "--vector",
                "--dimensions",
                "3072",
                "--index",
                "ivfflat",
                "--app-role",
                "authenticated",
                "--admin-role",
                "service_role",
                "--allow-data-loss",
                "--json",
            ],
            env,
        );
        expect(args).toMatchObject({
            connection: { host: "h", port: 5432, database: "d" },
            schema: {
                vector: true,
                vectorDimensions: 3072,
                vectorIndex: "ivfflat",
                appRole: "authenticated",
                adminRole: "service_role",
            },
            allowDataLoss: true,
            json: true,
        });
    });

    it("reads the URL as libpq does: PGPASSWORD when it has no password, PGSSLMODE or prefer when it has no sslmode", async () => {
        expect(await parseCliArgs(["status"], { DATABASE_URL: "postgresql://u@h/d", PGPASSWORD: "from-env" })).toMatchObject({
            connection: { password: "from-env", sslMode: "prefer" },
        });
        expect(await parseCliArgs(["status"], { DATABASE_URL: "postgresql://u:pw@h/d", PGSSLMODE: "disable" })).toMatchObject({
            connection: { password: "pw", sslMode: "disable" },
        });
        expect(await usageError(["status"], { DATABASE_URL: "postgresql://u:pw@h/d", PGSSLMODE: "sometimes" })).toMatch(/PGSSLMODE/);
    });

    it("takes PGPORT, PGCONNECT_TIMEOUT and PGSSLROOTCERT where the URL says nothing, as psql does, and the URL's own over them", async () => {
        const env = { PGPORT: "6543", PGCONNECT_TIMEOUT: "7", PGSSLROOTCERT: "/etc/ca.crt" };
        expect(await parseCliArgs(["status"], { DATABASE_URL: "postgresql://u:pw@h/d", ...env })).toMatchObject({
            connection: { port: 6543, connectTimeoutSeconds: 7, sslRootCert: "/etc/ca.crt" },
        });
        expect(
            await parseCliArgs(["status"], {
                DATABASE_URL: "postgresql://u:pw@h:5433/d?connect_timeout=3&sslrootcert=/etc/passwd",
                ...env,
            }),
        ).toMatchObject({ connection: { port: 5433, connectTimeoutSeconds: 3, sslRootCert: "/etc/passwd" } });
        expect(await usageError(["status"], { DATABASE_URL: "postgresql://u:pw@h/d", PGPORT: "five" })).toBe(
            'PGPORT is "five"; it must be a whole number from 1 to 65535, or unset',
        );
        // libpq 16's system CA store: refused with the two ways that work, not as a file named "system" that cannot be read.
        expect(await usageError(["status"], { DATABASE_URL: "postgresql://u:pw@h/d", PGSSLROOTCERT: "system" })).toMatch(
            /^PGSSLROOTCERT is "system"; .*name the CA file/,
        );
    });

    it("names the flag, not the config key, when a value breaks the stack's rules", async () => {
        expect(await usageError(["apply", "--vector", "--dimensions", "99999"])).toBe(
            `--dimensions 99999: must be an integer from 1 to ${MAX_HALFVEC_INDEX_DIMENSIONS}`,
        );
        expect(await usageError(["apply", "--app-role", "Bad-Role"])).toMatch(/^--app-role "Bad-Role": must be a lowercase SQL identifier/);
        expect(await usageError(["apply", "--index", "flat", "--vector"])).toBe('--index "flat": must be one of hnsw, ivfflat');
    });

    it("refuses flags that mean nothing without another", async () => {
        expect(await usageError(["apply", "--dimensions", "768"])).toBe(
            "--dimensions needs --vector; add --vector or leave --dimensions out",
        );
        expect(await usageError(["apply", "--index", "ivfflat"])).toBe("--index needs --vector; add --vector or leave --index out");
        expect(await usageError(["apply", "--allow-data-loss"])).toBe("--allow-data-loss only applies to rollback");
        expect(await usageError(["rollback", "--repair"])).toBe("--repair only applies to apply");
        expect(await usageError(["apply", "--no-rls", "--app-role", "zz_app"])).toBe(
            "--app-role has no effect with --no-rls: without row level security no role is used; leave --app-role out",
        );
        expect(await usageError(["plan", "--admin-role", "zz_admin", "--no-rls"])).toMatch(/^--admin-role has no effect with --no-rls/);
    });

    it("refuses an empty --url instead of falling back to DATABASE_URL", async () => {
        expect(await usageError(["status", "--url="])).toBe(
            "--url is empty; pass the database's URL, or leave --url out to use DATABASE_URL",
        );
    });

    it("returns help for -h and the help command, whatever else is given; version for -V", async () => {
        expect(await parseCliArgs(["-h"], {})).toBe("help");
        expect(await parseCliArgs(["apply", "--help"], {})).toBe("help");
        expect(await parseCliArgs(["help"], {})).toBe("help");
        expect(await parseCliArgs(["--version"], {})).toBe("version");
        expect(await parseCliArgs(["-V"], {})).toBe("version");
    });

    it("refuses a flag given twice rather than keeping the last", async () => {
        const url = "postgresql://u:p@h/d";
        expect(await usageError(["apply", "--url", url, "--url=postgresql://v:q@h/e"])).toBe("--url is given more than once; give it once");
        expect(await usageError(["apply", "--url", url, "--vector", "--vector"])).toBe("--vector is given more than once; give it once");
    });

    it("lines the option descriptions up past the longest flag", () => {
        const options = HELP.split("\n").filter((line) => line.startsWith("  -"));
        const column = (line: string) => line.search(/(?<=\S {2,})\S/);
        expect(options.length).toBe(Object.keys(FLAGS).length);
        expect(new Set(options.map(column)).size, options.join("\n")).toBe(1);
    });

    it("rejects a missing or unknown command and stray arguments as usage errors", async () => {
        expect(await usageError([])).toBe("a command is required: plan, apply, status, rollback, verify");
        expect(await usageError(["migrate"])).toBe('unknown command "migrate"; commands: plan, apply, status, rollback, verify');
        expect(await usageError(["repair", "--help"])).toBe('unknown command "repair"; commands: plan, apply, status, rollback, verify');
        expect(await usageError(["apply", "now"])).toBe('unexpected argument "now"');
        expect(await usageError(["status"], {})).toMatch(/no database: pass --url/);
    });

    it("accepts every command it lists", async () => {
        for (const command of COMMAND_NAMES) {
            expect(await parseCliArgs([command], env)).toMatchObject({ command });
        }
    });
});

describe("the help", () => {
    it("lists every command and every flag, and the limits the parser applies", async () => {
        for (const command of COMMAND_NAMES) {
            expect(HELP).toMatch(new RegExp(`^  ${command} `, "m"));
        }
        for (const flag of Object.keys(FLAGS)) {
            expect(HELP).toContain(`--${flag}`);
        }
        expect(HELP).toContain(`1-${MAX_HALFVEC_INDEX_DIMENSIONS}`);
        await expect(parseCliArgs(["apply", "--vector", "--dimensions", String(MAX_HALFVEC_INDEX_DIMENSIONS)], env)).resolves.toMatchObject(
            {},
        );
        await expect(parseCliArgs(["apply", "--vector", "--dimensions", String(MAX_HALFVEC_INDEX_DIMENSIONS + 1)], env)).rejects.toThrow(
            UsageError,
        );
    });
});

describe("lock and schema-request flags", () => {
    it("carries --lock-timeout and --lock-deadline, and only the schema flags given as requests", async () => {
        const args = await parseCliArgs(["apply", "--lock-timeout", "250", "--lock-deadline", "30", "--no-rls"], { DATABASE_URL: URL });
        expect(args).toMatchObject({ locks: { timeoutMs: 250, deadlineSeconds: 30 }, schema: { rls: false } });
        expect(Object.keys((args as CliArgs).schema)).toEqual(["rls"]);
        expect(await parseCliArgs(["plan"], { DATABASE_URL: URL })).toMatchObject({ locks: {}, schema: {} });
    });

    it("refuses a lock value out of range naming the flag, and a lock flag on a command that takes no lock", async () => {
        await expect(parseCliArgs(["apply", "--lock-timeout", "0"], { DATABASE_URL: URL })).rejects.toThrow(
            '--lock-timeout "0": must be an integer from 1 to 600000',
        );
        await expect(parseCliArgs(["rollback", "--lock-deadline", "soon"], { DATABASE_URL: URL })).rejects.toThrow(
            '--lock-deadline "soon": must be an integer from 0 to 86400',
        );
        await expect(parseCliArgs(["status", "--lock-timeout", "100"], { DATABASE_URL: URL })).rejects.toThrow(
            "--lock-timeout only applies to plan, apply, rollback",
        );
    });
});
