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

/**
 * SQL: whether the current role may run FLUSH_WAL (PostgreSQL 17 gave the function a fourth argument, with a default).
 * It runs before the lock's search_path is set: every operator compares values of one type, an exact match in pg_catalog.
 */
export const FLUSH_ALLOWED = `exists (select from pg_catalog.pg_proc p
                  where p.proname = 'pg_logical_emit_message' and p.pronamespace = 'pg_catalog'::pg_catalog.regnamespace::pg_catalog.oid
                    and p.proargtypes[2] = 'pg_catalog.text'::pg_catalog.regtype::pg_catalog.oid
                    and pg_catalog.has_function_privilege(p.oid, 'execute'))`;
