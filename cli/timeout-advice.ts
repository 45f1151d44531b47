// A statement the session's statement_timeout cut off. The engine bounds its lock waits with lock_timeout and leaves
// statement_timeout as the database or role set it (a cap a DBA may want on a migration too), so an application's
// `alter database … set statement_timeout = '2s'` can stop a migration or the engine's own catalog read: PostgreSQL's
// "canceling statement due to statement timeout" alone named neither the setting nor the way round it.
// By SQLSTATE (57014, query_canceled) and not the message, which lc_messages may translate; only a cancel someone sent
// ("due to user request": the CLI's own Ctrl-C is said before this) is told apart, in English.
const USER_REQUEST = "user request";

/** The advice for `error` (or an error it wraps) that statement_timeout raised; undefined for any other. */
export function timeoutAdvice(error: unknown): string | undefined {
    for (let cause = error; cause !== undefined && cause !== null; cause = (cause as { cause?: unknown }).cause) {
        const { code, message } = cause as { code?: unknown; message?: unknown };
        if (code === "57014" && !(typeof message === "string" && message.includes(USER_REQUEST))) {
            return (
                "the session's statement_timeout (set on the database or the role, or by PGOPTIONS) cut the statement off; nothing of the " +
                "statement's transaction was kept. Run again with a longer one for this command: PGOPTIONS='-c statement_timeout=0' " +
                "(or a value the migration fits in)"
            );
        }
    }
    return undefined;
}
