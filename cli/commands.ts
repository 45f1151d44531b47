// The CLI's commands: thin wrappers over the migration engine, each returning text for people,
// a JSON value for --json and an exit code. A new command (verify) is one more entry in COMMANDS.
import type { Client } from "pg";
import { applyMigrations, explainDrift, planMigrations, readLedger, rollbackSchema, schemaStatus } from "../engine/migrate/index";
import { grantSchemaPrivileges } from "../engine/migrate/grants";
import { MEMORY_TABLES } from "../engine/migrate/manifest";
import { renderRollback, type Migration } from "../engine/migrate/render";
import { expectationsFor, formatReport, verifySchema } from "../engine/verify/index";
import type { CliArgs } from "./args";

export interface CommandContext {
    /** One connected session on the direct connection. */
    client: Client;
    args: CliArgs;
    /** sql/ rendered for the chosen variant. */
    migrations: Migration[];
    /** describeVariant of args.schema. */
    variant: string;
    /** A progress line on stderr. */
    progress(line: string): void;
}

export interface CommandResult {
    /** 0 done, 1 a check failed or the command refused. */
    exitCode: 0 | 1;
    text: string;
    json: unknown;
}

export type Command = (context: CommandContext) => Promise<CommandResult>;

const plan: Command = async ({ client, migrations, variant }) => {
    const result = planMigrations(await readLedger(client), migrations, variant);
    const lines = [
        result.pending.length === 0 ? "nothing to apply" : `${result.pending.length} to apply:`,
        ...result.pending.map((migration) => `  ${migration.name}  sha256:${migration.checksum.slice(0, 12)}`),
        `${result.applied.length} applied`,
        ...driftLines(result.drift),
    ];
    return {
        exitCode: result.drift.length > 0 ? 1 : 0,
        text: lines.join("\n"),
        json: {
            variant,
            pending: result.pending.map(({ name, checksum }) => ({ name, checksum })),
            applied: result.applied.map((row) => row.name),
            drift: result.drift,
        },
    };
};

const apply: Command = async ({ client, args, migrations, variant, progress }) => {
    const result = await applyMigrations(client, migrations, {
        variant,
        onProgress: ({ name, durationMs, index, total }) => progress(`applied ${name} in ${Math.round(durationMs)} ms (${index}/${total})`),
    });
    // The same privilege list the Pulumi stack's Grants component declares, on what the schema created.
    const grants = await grantSchemaPrivileges(client, args.schema);
    if (grants.length > 0) {
        progress(
            `granted ${args.schema.appRole} and ${args.schema.adminRole} their privileges on the memory schema (${grants.length} grants)`,
        );
    }
    const total = result.applied.reduce((sum, item) => sum + item.durationMs, 0);
    return {
        exitCode: 0,
        text:
            result.applied.length === 0
                ? `nothing to apply; the schema is at ${result.version} (${variant})`
                : `applied ${result.applied.length} migration${result.applied.length === 1 ? "" : "s"} in ${Math.round(total)} ms; the schema is at ${result.version} (${variant})`,
        json: {
            variant,
            version: result.version,
            applied: result.applied.map(({ name, durationMs }) => ({ name, durationMs: Math.round(durationMs) })),
            appliedMigrations: result.appliedMigrations,
            grants,
        },
    };
};

const status: Command = async ({ client, migrations, variant }) => {
    const result = await schemaStatus(client, migrations, variant);
    const lines = [
        result.upToDate ? `up to date at ${result.applied.at(-1)?.name} (${variant})` : `not up to date (${variant})`,
        ...result.applied.map((row) => `  applied  ${row.name}  ${row.variant}  ${row.appliedAt.toISOString()}  ${row.durationMs} ms`),
        ...result.pending.map((name) => `  pending  ${name}`),
        ...driftLines(result.drift),
    ];
    return {
        exitCode: result.upToDate ? 0 : 1,
        text: lines.join("\n"),
        json: {
            variant,
            upToDate: result.upToDate,
            applied: result.applied.map((row) => ({
                name: row.name,
                checksum: row.checksum,
                variant: row.variant,
                appliedAt: row.appliedAt.toISOString(),
                durationMs: row.durationMs,
            })),
            pending: result.pending,
            drift: result.drift,
        },
    };
};

const rollback: Command = async ({ client, args }) => {
    const result = await rollbackSchema(client, {
        rollbackSql: renderRollback(args.schema),
        memoryTables: MEMORY_TABLES,
        allowDataLoss: args.allowDataLoss,
    });
    const dropped = Object.entries(result.rowCounts).filter(([, rows]) => rows > 0);
    return {
        exitCode: 0,
        text: !result.rolledBack
            ? "nothing to roll back: the memory schema is not in this database"
            : `rolled back the memory schema in ${Math.round(result.durationMs)} ms${dropped.length > 0 ? `; rows dropped: ${dropped.map(([table, rows]) => `${table} ${rows}`).join(", ")}` : ""}`,
        json: { rolledBack: result.rolledBack, rowCounts: result.rowCounts, durationMs: Math.round(result.durationMs) },
    };
};

// The post-deploy verification (components/verify): the same report `pulumi up` fails with.
const verify: Command = async ({ client, args, migrations }) => {
    const report = await verifySchema(client, await expectationsFor(args.schema, migrations));
    return { exitCode: report.ok ? 0 : 1, text: formatReport(report), json: report };
};

export const COMMANDS: Record<string, Command> = { plan, apply, status, rollback, verify };

function driftLines(drift: Parameters<typeof explainDrift>[0][]): string[] {
    return drift.length === 0 ? [] : ["drift:", ...drift.map((item) => `  ${explainDrift(item)}`)];
}
