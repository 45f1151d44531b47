// Under the migration lock a transaction's commit does not wait for its WAL to reach disk (bounded.ts),
// when the migrating role may run FLUSH_WAL (FLUSH_ALLOWED; a database may revoke it, and the commits then
// wait as usual). FLUSH_WAL, run on its own (autocommit), makes everything committed before it durable: it
// writes a WAL record of its own (a logical decoding message: the one WAL write every role may make
// without touching a table), so its commit waits for the flush, and the WAL is flushed in order. It commits
// at the session's synchronous_commit, or `local` where that is off (the database's or the role's
// setting): a synchronous standby is waited for where the session asks for one, and the local disk always.
export const FLUSH_WAL = `select pg_catalog.set_config('synchronous_commit',
        case pg_catalog.current_setting('synchronous_commit') when 'off' then 'local' else pg_catalog.current_setting('synchronous_commit') end,
        true),
       pg_catalog.pg_logical_emit_message(true, 'memory-stack', 'flush')`;

/** SQL: whether the current role may run FLUSH_WAL. */
export const FLUSH_ALLOWED = "pg_catalog.has_function_privilege('pg_catalog.pg_logical_emit_message(boolean, text, text)', 'execute')";
