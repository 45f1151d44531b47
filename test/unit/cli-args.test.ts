import { COMMANDS as CLI_COMMANDS } from "../../cli/commands";
import { describe, expect, it } from "vitest";
import { parseCliArgs, parseDatabaseUrl, redactUrl, UsageError } from "../../cli/args";

const COMMANDS = Object.keys(CLI_COMMANDS);
const URL = "postgresql://postgres:s3cret%40pw@db.example.com:6543/ybryx?sslmode=require";

describe("parseCliArgs", () => {
    it("takes the URL from DATABASE_URL and the stack's defaults for the schema", () => {
        const args = parseCliArgs(["apply"], { DATABASE_URL: URL }, COMMANDS);
        expect(args).toMatchObject({
            command: "apply",
            connection: {
                host: "db.example.com",
                port: 6543,
                database: "ybryx",
                user: "postgres",
                password: "s3cret@pw",
                sslMode: "require",
            },
            target: "postgresql://postgres:***@db.example.com:6543/ybryx?sslmode=require",
            schema: {
                vector: false,
                vectorDimensions: 1536,
                vectorIndex: "hnsw",
                rls: true,
                appRole: "memory_app",
                adminRole: "memory_admin",
            },
            allowDataLoss: false,
            json: false,
        });
    });

    it("maps every flag onto the schema options, --url over DATABASE_URL", () => {
        const args = parseCliArgs(
            [
                "rollback",
                "--url",
                "postgres://u:p@h/d",
                "--vector",
                "--dimensions",
                "768",
                "--index",
                "ivfflat",
                "--no-rls",
                "--app-role",
                "authenticated",
                "--admin-role",
                "service_role",
                "--allow-data-loss",
                "--json",
            ],
            { DATABASE_URL: URL },
            COMMANDS,
        );
        expect(args).toMatchObject({
            connection: { host: "h", port: 5432, database: "d" },
            schema: {
                vector: true,
                vectorDimensions: 768,
                vectorIndex: "ivfflat",
                rls: false,
                appRole: "authenticated",
                adminRole: "service_role",
            },
            allowDataLoss: true,
            json: true,
        });
    });

    it("names the flag, not the config key, when a value breaks the stack's rules", () => {
        expect(() => parseCliArgs(["apply", "--vector", "--dimensions", "3000"], { DATABASE_URL: URL }, COMMANDS)).toThrow(
            /^--dimensions 3000: pgvector's hnsw and ivfflat indexes accept at most 2000/,
        );
        expect(() => parseCliArgs(["apply", "--app-role", "Bad-Role"], { DATABASE_URL: URL }, COMMANDS)).toThrow(
            /^--app-role "Bad-Role": must be a lowercase SQL identifier/,
        );
        expect(() => parseCliArgs(["apply", "--app-role", "x", "--admin-role", "x"], { DATABASE_URL: URL }, COMMANDS)).toThrow(
            /^--admin-role "x": must differ from appRole/,
        );
    });

    it("returns help for -h, whatever else is given", () => {
        expect(parseCliArgs(["-h"], {}, COMMANDS)).toBe("help");
        expect(parseCliArgs(["apply", "--help"], {}, COMMANDS)).toBe("help");
    });

    it("rejects a missing or unknown command and stray arguments as usage errors", () => {
        expect(() => parseCliArgs([], { DATABASE_URL: URL }, COMMANDS)).toThrow(UsageError);
        expect(() => parseCliArgs(["migrate"], { DATABASE_URL: URL }, COMMANDS)).toThrow(
            'unknown command "migrate"; commands: plan, apply, status, rollback, verify',
        );
        expect(() => parseCliArgs(["apply", "now"], { DATABASE_URL: URL }, COMMANDS)).toThrow('unexpected argument "now"');
    });
});

describe("parseDatabaseUrl", () => {
    it("refuses what is not a postgres URL, without echoing the password", () => {
        expect(() => parseDatabaseUrl("mysql://u:hunter22@h/d")).toThrow("must start with postgresql://");
        expect(() => parseDatabaseUrl("postgresql://u:hunter22@h")).toThrow("postgresql://u:***@h must name a user, a host and a database");
        expect(() => parseDatabaseUrl("postgresql://u:hunter22@h/d?sslmode=maybe")).toThrow("sslmode=maybe");
    });
});

describe("redactUrl", () => {
    it("hides the password and keeps everything else", () => {
        expect(redactUrl("postgresql://app:pa:ss@host:5432/db")).toBe("postgresql://app:***@host:5432/db");
        expect(redactUrl("postgresql://app@host/db")).toBe("postgresql://app@host/db");
    });
});

describe("lock and schema-request flags", () => {
    it("carries --lock-timeout and --lock-deadline, and only the schema flags given as requests", () => {
        const args = parseCliArgs(["apply", "--lock-timeout", "250", "--lock-deadline", "30", "--no-rls"], { DATABASE_URL: URL }, COMMANDS);
        expect(args).toMatchObject({ locks: { timeoutMs: 250, deadlineSeconds: 30 }, requested: { rls: false } });
        expect(Object.keys((args as { requested: object }).requested)).toEqual(["rls"]);
        expect(parseCliArgs(["status"], { DATABASE_URL: URL }, COMMANDS)).toMatchObject({
            locks: { timeoutMs: 500, deadlineSeconds: 300 },
            requested: {},
        });
    });

    it("refuses a lock value out of range naming the flag", () => {
        expect(() => parseCliArgs(["apply", "--lock-timeout", "0"], { DATABASE_URL: URL }, COMMANDS)).toThrow(
            '--lock-timeout "0": must be an integer from 1 to 600000',
        );
        expect(() => parseCliArgs(["rollback", "--lock-deadline", "soon"], { DATABASE_URL: URL }, COMMANDS)).toThrow(
            '--lock-deadline "soon": must be an integer from 0 to 86400',
        );
    });
});
