// Under the migration lock a transaction's commit does not wait for its WAL to reach disk (bounded.ts).
// This statement, run on its own (autocommit), makes everything committed before it durable: it writes a
// WAL record of its own (a logical decoding message: the one WAL write every role may make without
// touching a table), so its commit waits for the flush at the session's own synchronous_commit, and the
// WAL is flushed in order.
export const FLUSH_WAL = "select pg_logical_emit_message(true, 'memory-stack', 'flush')";
