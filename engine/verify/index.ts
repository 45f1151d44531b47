// The verification engine: plain TypeScript over one `pg` connection, no Pulumi inside. The
// dynamic resource (resource.ts) and the CLI's `verify` are thin adapters over verifySchema.
//
// Round trips: the catalog is ONE query (catalog.ts). It and the behaviour checks, a few dozen short
// statements, run in one transaction that always ends in rollback, so the database is left exactly as
// found: no row, no grant, no setting survives, and a lock or statement that would hang gives up.
import type { SqlClient } from "../db/client";
import { compareCatalog, readCatalog, type CatalogResult, type CatalogSnapshot } from "./catalog";
import type { CheckRunner } from "./checks";
import type { Expectations } from "./expected";
import { runFunctionalChecks } from "./functional";
import { reusedProblems } from "./ownership";
import { VerificationFailedError, type VerificationReport } from "./report";

export { expectationsFor, type Expectations } from "./expected";
export { describeProblem, formatReport, VerificationFailedError, type ObjectCounts, type Problem, type VerificationReport } from "./report";

export interface VerifyOptions {
    /** Give up on a lock the checks wait for (an application holding one) after this long. Default: 5000 ms. */
    lockTimeoutMs?: number;
    /** Give up on any one statement after this long. Default: 30000 ms. */
    statementTimeoutMs?: number;
}

/** Checks everything and returns the report; throws only when the database cannot be asked at all. */
export async function verifySchema(client: SqlClient, expected: Expectations, options: VerifyOptions = {}): Promise<VerificationReport> {
    const started = performance.now();
    const catalogClient = counting(client);
    const functionalClient = counting(client);
    const lockTimeout = Math.max(1, Math.round(options.lockTimeoutMs ?? 5_000));
    const statementTimeout = Math.max(1, Math.round(options.statementTimeoutMs ?? 30_000));
    // The session timeout ends the transaction server-side should this process die half way.
    // search_path pg_catalog: verification connects as the owner, and every name it does not qualify
    // (operators, built-in functions) must resolve to PostgreSQL's own. With schema public on the path,
    // an operator or function that a role able to create there planted with a closer argument match
    // (text || uuid beats pg_catalog's text || anynonarray) would run with the owner's rights.
    // row_security and quote_all_identifiers: a role or database may carry either, and the checks as the app role
    // (an error instead of filtered rows) and the catalog's signatures (quoted names) would fail a correct schema.
    await functionalClient.query(
        `begin; set local search_path = pg_catalog; set local row_security = on; set local quote_all_identifiers = off; ` +
            `set local lock_timeout = ${lockTimeout}; ` +
            `set local statement_timeout = ${statementTimeout}; set local idle_in_transaction_session_timeout = ${statementTimeout * 2}`,
    );
    let snapshot: CatalogSnapshot;
    let catalog: CatalogResult;
    let run: CheckRunner;
    let reused: Awaited<ReturnType<typeof reusedProblems>>;
    try {
        snapshot = await readCatalog(catalogClient, expected);
        catalog = compareCatalog(expected, snapshot);
        reused = await reusedProblems(catalogClient, snapshot.recorded);
        run = await runFunctionalChecks(functionalClient, expected, catalog.broken, snapshot.usersInsertable);
    } finally {
        await functionalClient.query("rollback");
    }

    const problems = [...catalog.problems, ...reused, ...run.problems];
    return {
        ok: problems.length === 0,
        variant: expected.variant,
        applied: snapshot.ledger,
        problems,
        skipped: run.skipped,
        counts: catalog.counts,
        checksPassed: run.passed,
        durationMs: Math.round(performance.now() - started),
        checkedAt: new Date().toISOString(),
        roundTrips: { catalog: catalogClient.roundTrips, functional: functionalClient.roundTrips },
    };
}

/** verifySchema, throwing VerificationFailedError (its message is the whole report) when anything is wrong. */
export async function assertSchemaVerified(
    client: SqlClient,
    expected: Expectations,
    options: VerifyOptions = {},
): Promise<VerificationReport> {
    const report = await verifySchema(client, expected, options);
    if (!report.ok) {
        throw new VerificationFailedError(report);
    }
    return report;
}

/** The client, counting each query sent (one query, one round trip: pg sends them one at a time). */
function counting(client: SqlClient): SqlClient & { roundTrips: number } {
    const wrapped = {
        roundTrips: 0,
        query: ((...args: Parameters<SqlClient["query"]>) => {
            wrapped.roundTrips++;
            return (client.query as (...a: unknown[]) => unknown)(...args);
        }) as SqlClient["query"],
    };
    return wrapped;
}
