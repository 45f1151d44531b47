// The CLI's commands: thin wrappers over the migration engine, each returning text for people,
// a JSON value for --json and an exit code. A new command (verify) is one more entry in COMMANDS.
import type { Client } from "pg";
import {
    applyMigrations,
    explainDrift,
    formatConflicts,
    loadRollbackSql,
    previewApply,
    rollbackSchema,
    schemaStatus,
    type SessionOptions,
} from "../engine/migrate/index";
import type { Migration } from "../engine/migrate/render";
import { expectationsFor, formatReport, verifySchema } from "../engine/verify/index";
import type { CliArgs } from "./args";

export interface CommandContext {
    /** One connected session on the direct connection. */
    client: Client;
    /** args.schema is resolved against the ledger (engine/migrate/options.ts). */
    args: CliArgs;
    /** sql/ rendered for the chosen variant. */
    migrations: Migration[];
    /** describeVariant of args.schema. */
    variant: string;
    /** A progress line on stderr. */
    progress(line: string): void;
    /** Lock settings, lock-wait lines and a way to open a second session, for apply and rollback. */
    session: SessionOptions;
}

export interface CommandResult {
    /** 0 done, 1 a check failed or the command refused. */
    exitCode: 0 | 1;
    text: string;
    json: unknown;
}

export type Command = (context: CommandContext) => Promise<CommandResult>;

// What apply would do and every conflict that would make it refuse (exit 1), without changing anything.
const plan: Command = async ({ client, args, migrations, variant, session }) => {
    const { plan: result, conflicts } = await previewApply(client, migrations, { variant, schema: args.schema, locks: session.locks });
    const lines = [
        result.pending.length === 0 ? "nothing to apply" : `${result.pending.length} to apply:`,
        ...result.pending.map((migration) => `  ${migration.name}  sha256:${migration.checksum.slice(0, 12)}`),
        `${result.applied.length} applied`,
        ...driftLines(result.drift),
        ...(conflicts.length === 0
            ? []
            : [`apply would refuse: ${conflicts.length} conflict${conflicts.length === 1 ? "" : "s"}`, formatConflicts(conflicts)]),
    ];
    return {
        exitCode: result.drift.length > 0 || conflicts.length > 0 ? 1 : 0,
        text: lines.join("\n"),
        json: {
            variant,
            pending: result.pending.map(({ name, checksum }) => ({ name, checksum })),
            applied: result.applied.map((row) => row.name),
            drift: result.drift,
            conflicts,
        },
    };
};

const apply: Command = async ({ client, args, migrations, variant, progress, session }) => {
    const result = await applyMigrations(client, migrations, {
        variant,
        schema: args.schema,
        ...session,
        onProgress: ({ name, durationMs, index, total }) => progress(`applied ${name} in ${Math.round(durationMs)} ms (${index}/${total})`),
    });
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

const rollback: Command = async ({ client, args, session }) => {
    const result = await rollbackSchema(client, {
        rollbackSql: loadRollbackSql(),
        allowDataLoss: args.allowDataLoss,
        defaults: args.schema,
        ...session,
    });
    const dropped = Object.entries(result.rowCounts).filter(([, rows]) => rows > 0);
    const values = Object.entries(result.columnCounts).filter(([, count]) => count > 0);
    const text = !result.rolledBack
        ? "nothing to roll back: the memory schema is not in this database"
        : [
              `rolled back the memory schema in ${Math.round(result.durationMs)} ms`,
              ...(dropped.length > 0 ? [`rows dropped: ${dropped.map(([table, rows]) => `${table} ${rows}`).join(", ")}`] : []),
              ...(values.length > 0
                  ? [`non-default values dropped: ${values.map(([column, count]) => `${column} ${count}`).join(", ")}`]
                  : []),
              ...(result.kept.length > 0 ? [`kept (other objects depend on them): ${result.kept.join(", ")}`] : []),
          ].join("; ");
    return {
        exitCode: 0,
        text,
        json: {
            rolledBack: result.rolledBack,
            rowCounts: result.rowCounts,
            columnCounts: result.columnCounts,
            kept: result.kept,
            durationMs: Math.round(result.durationMs),
        },
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
