// What a command gets and gives back. Each command is a thin file over one engine entry point.
import type { Client } from "pg";
import type { Migration, SchemaOptions } from "../../engine/migrate/render";
import type { CliArgs } from "../args";

export interface CommandContext {
    /** One connected session on the direct connection. */
    client: Client;
    args: CliArgs;
    /** The schema options in force: the flags' requests over the defaults. */
    schema: SchemaOptions;
    /** sql/ rendered for `schema`. */
    migrations: Migration[];
    /** describeVariant(schema). */
    variant: string;
    /** A progress line on stderr. */
    progress(line: string): void;
}

export interface CommandResult {
    /** 0 done, 1 a check failed or the command refused. */
    exitCode: 0 | 1;
    text: string;
    json: object;
}

export type Command = (context: CommandContext) => Promise<CommandResult>;
