// The migration engine's public face: plain functions over one `pg` connection, no Pulumi inside.
// The dynamic resource and the CLI (cli/) are thin adapters over these.
export { applyMigrations, describeRepair, type ApplyOptions, type ApplyResult, type MigrationProgress } from "./apply";
export { LockDeadlineError } from "./bounded";
export { DependentObjectsRefusedError, type Dependent } from "./dependents";
export { SqlFileError } from "./execute";
export { DataLossRefusedError } from "./guard";
export { readLedger, LEDGER_TABLE, OWNERSHIP_TABLE, type LedgerRow, type SqlClient } from "./ledger";
export { MigrationLockTimeoutError, MIGRATION_LOCK_KEY } from "./lock";
export { LostCommitError } from "./lost-commit";
export { OptionsConflictError, recordedOptions, resolveSchemaOptions } from "./options";
export { ForeignObjectRemovedError, missingRecorded, readRecords, type RecordedObject } from "./ownership";
export { describeVariant, explainDrift, planMigrations, SchemaRefusedError, type Drift, type MigrationFile, type Plan } from "./plan";
export { formatConflicts, preflight, PreflightRefusedError, type Conflict } from "./preflight";
export { previewApply } from "./preview";
export { loadRollbackSql } from "./render";
export { rollbackSchema, type RollbackOptions, type RollbackResult } from "./rollback";
export { DEFAULT_LOCK_SETTINGS, describeWaits, type Connection, type LockSettings, type LockWaits, type SessionOptions } from "./session";
export { schemaStatus, type SchemaStatus } from "./status";
export { readStepLedger, type StepRow } from "./step-ledger";
export { type StepEvent, type StepOptions } from "./step-runner";
