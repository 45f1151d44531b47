// The commands by name, with their help lines: all that `--help` and the argument parser need, so
// neither loads a command (or pg, or the SQL parser) to describe one.

export const COMMAND_NAMES = ["plan", "apply", "status", "rollback", "verify"] as const;
export type CommandName = (typeof COMMAND_NAMES)[number];

export const COMMAND_SUMMARIES: Record<CommandName, string> = {
    plan: "list the migrations an apply would run; exit 1 if the database drifted (apply would refuse)",
    apply: "apply the pending migrations, each in its own transaction, under the migration lock",
    status: "applied, pending and drifted migrations; exit 1 unless the schema is up to date",
    rollback: "remove everything the schema added, nothing else; refuses while memory tables hold rows",
    verify: "check every object and behaviour of the schema in a rolled-back transaction; exit 1 naming each problem",
};

/** Commands that take the session-level migration lock: never through a transaction pooler. */
export const NEEDS_ONE_SESSION: readonly CommandName[] = ["apply", "rollback"];
