// The migration engine's public face: plain functions over one `pg` connection, no Pulumi inside.
// The dynamic resource (resource.ts) and the CLI (cli/) are thin adapters over these.
export { applyMigrations, type ApplyOptions, type ApplyResult, type MigrationProgress } from "./apply";
export { SqlFileError } from "./execute";
export { readLedger, LEDGER_TABLE, type LedgerRow, type SqlClient } from "./ledger";
export { DEFAULT_LOCK_TIMEOUT_MS, MigrationLockTimeoutError, MIGRATION_LOCK_KEY } from "./lock";
export { describeVariant, explainDrift, planMigrations, SchemaRefusedError, type Drift, type MigrationFile, type Plan } from "./plan";
export { DataLossRefusedError, rollbackSchema, type RollbackOptions, type RollbackResult } from "./rollback";
export { schemaStatus, type SchemaStatus } from "./status";
export { readStepLedger, type StepRow } from "./step-ledger";
export { type StepEvent, type StepOptions } from "./step-runner";
