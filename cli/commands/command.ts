// What a command gets and gives back. Each command is a thin file over one engine entry point.
import type { Client } from "pg";
import type { SessionOptions } from "../../engine/migrate/session";
import type { Migration, SchemaOptions } from "../../engine/migrate/render";
import type { CliArgs } from "../args";

export interface CommandContext {
    /** One connected session on the direct connection. */
    client: Client;
    args: CliArgs;
    /** The schema options in force: the ledger's, then the flags' requests, then the defaults (engine/migrate/options.ts). */
    schema: SchemaOptions;
    /** sql/ rendered for `schema`. */
    migrations: Migration[];
    /** describeVariant(schema). */
    variant: string;
    /** A progress line on stderr. */
    progress(line: string): void;
    /** Lock settings, lock-wait lines and a way to open a second session, for the commands that migrate. */
    session: SessionOptions;
}

export interface CommandResult {
    /** 0 done, 1 a check failed or the command refused. */
    exitCode: 0 | 1;
    text: string;
    json: object;
}

export type Command = (context: CommandContext) => Promise<CommandResult>;
