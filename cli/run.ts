// A command that runs: the schema options in force, one direct connection, the transaction-pooler
// check for the commands that take the migration lock, the command, and what it prints.
import type { Client } from "pg";
import { DEFAULT_SCHEMA_OPTIONS, resolveSchemaOptions } from "../engine/config/schema-options";
import { ConfigError } from "../engine/config/error";
import { connect, endedBy } from "../engine/db/client";
import { describeError } from "../engine/db/errors";
import { refuseTransactionPooler } from "../engine/db/pooler";
import { describeTarget } from "../engine/db/url";
import { recordedOptions, resolveSchemaOptions as resolveAgainstLedger } from "../engine/migrate/options";
import { describeVariant } from "../engine/migrate/plan";
import { loadMigrationSources, renderMigrations, type SchemaOptions } from "../engine/migrate/render";
import { readLedgers } from "../engine/migrate/step-ledger";
import { flagFor, UsageError, type CliArgs } from "./args";
import { connectAdvice } from "./connect-advice";
import { loadCommand } from "./commands/index";
import { NEEDS_ONE_SESSION } from "./commands/names";
import type { CliIo } from "./main";
import { INTERRUPTED_EXIT_CODE, stopOnInterrupt, type Interrupt } from "./interrupt";
import { passNotices } from "./progress";
import { timeoutAdvice } from "./timeout-advice";

export async function run(args: CliArgs, out: CliIo): Promise<number> {
    const { command, json, connection } = args;
    const requested = checkedRequest(args);
    const applicationName = `memory-stack-cli-${command}`;
    let client: Client | undefined;
    let interrupt: Interrupt | undefined;
    let exitCode = 1;
    try {
        try {
            client = await connect(connection, { applicationName });
        } catch (error) {
            const advice = connectAdvice(error, connection);
            throw new Error(
                `cannot connect to ${describeTarget(connection)} (sslmode ${connection.sslMode}): ${describeError(error)}${advice ? `; ${advice}` : ""}`,
                { cause: error },
            );
        }
        passNotices(client, out.stderr);
        interrupt = stopOnInterrupt(client, connection, command, out, json);
        if (NEEDS_ONE_SESSION.includes(command)) {
            await refuseTransactionPooler(client, connection, applicationName);
        }
        const schema = await schemaOptions(client, args, requested);
        const variant = describeVariant(schema);
        out.stderr(`memory-stack ${command}: ${describeTarget(connection)} (${variant})`);
        const runCommand = await loadCommand(command);
        const progress = (line: string) => out.stderr(line);
        const result = await runCommand({
            client,
            args,
            schema,
            migrations: renderMigrations(loadMigrationSources(), schema),
            variant,
            progress,
            session: {
                locks: args.locks,
                onWait: progress,
                connect: () => connect(connection, { applicationName: `${applicationName}-watch` }),
            },
        });
        out.stdout(json ? JSON.stringify({ ok: result.exitCode === 0, command, ...result.json }, null, 2) : result.text);
        exitCode = result.exitCode;
        return exitCode;
    } catch (error) {
        if (interrupt?.stopping()) {
            return INTERRUPTED_EXIT_CODE; // said by the interrupt; the error is the cancel it sent
        }
        const advice = timeoutAdvice(error);
        const message =
            connectionLost(client, error) ?? `${error instanceof Error ? error.message : String(error)}${advice ? `; ${advice}` : ""}`;
        out.stderr(`memory-stack ${command} failed: ${message}`);
        if (json) {
            out.stdout(JSON.stringify({ ok: false, command, error: message }, null, 2));
        }
        return 1;
    } finally {
        interrupt?.stop();
        if (client && exitCode === 0) {
            endWithoutWaiting(client);
        } else {
            await client?.end().catch(() => undefined);
        }
    }
}

// After a command that succeeded (its work committed, the migration lock released), the session is ended and the process
// exits without waiting for the server to close its side: a backend that created many objects takes some 5 ms to exit.
// After a failure it is awaited, so the session (and any lock it held) is gone when the command returns.
function endWithoutWaiting(client: Client): void {
    void client.end().catch(() => undefined);
    (client as unknown as { connection?: { stream?: { unref?: () => void } } }).connection?.stream?.unref?.();
}

/** pg's own words for a query on a connection that ended ("… is not queryable") replaced by why it ended, when it did. */
function connectionLost(client: Client | undefined, error: unknown): string | undefined {
    const ended = client && endedBy(client);
    if (ended === undefined || !/is not queryable|Connection terminated/.test(String((error as Error)?.message))) {
        return undefined;
    }
    return (
        `the server ended the connection (${describeError(ended)}). What had finished stays as it is and what was under way ` +
        "was rolled back (`memory-stack status` shows where things stand); run the command again."
    );
}

/** The flags' requests over the defaults, checked before connecting: a request that cannot stand is bad usage, named by its flag. */
function checkedRequest(args: CliArgs): SchemaOptions {
    try {
        return resolveSchemaOptions(args.schema, DEFAULT_SCHEMA_OPTIONS, args.connection.user);
    } catch (error) {
        if (error instanceof ConfigError) {
            const allowed = error.allowed.replace(/\b(appRole|adminRole)\b/g, flagFor);
            throw new UsageError(`${flagFor(error.key)} ${JSON.stringify(error.value)}: ${allowed}`);
        }
        throw error;
    }
}

/**
 * The options the command runs with: what the database's ledger recorded, then the flags' requests, then
 * the defaults. A flag that contradicts the ledger is refused naming both (only apply and plan may switch a
 * jsonb database to vector).
 */
async function schemaOptions(client: Client, args: CliArgs, requested: SchemaOptions): Promise<SchemaOptions> {
    const { ledger, steps } = await readLedgers(client);
    return resolveAgainstLedger({
        requested: args.schema,
        recorded: await recordedOptions(client, ledger, steps),
        defaults: requested,
        allowVectorSwitch: args.command === "apply" || args.command === "plan",
        shownAs: flagFor,
    });
}
