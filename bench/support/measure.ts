// Timing, medians and progress lines shared by every part of the benchmark.
import { performance } from "node:perf_hooks";

/** One line of the printed table: a figure for memory-stack beside its baseline from the same run. */
export interface Row {
    /** The part it belongs to: apply, noop, verify, deploy, pooling, rls, vector. */
    part: string;
    /** What is measured, e.g. "apply all migrations, empty database". */
    figure: string;
    /** memory-stack's value, in `unit`; null when it could not be measured (see note). */
    value: number | null;
    unit: Unit;
    /** What the value is compared with, e.g. "psql -1 -f"; null when the figure has no baseline. */
    baseline: { label: string; value: number | null; unit?: Unit; reference?: boolean } | null;
    /** value ÷ baseline value, when both are measured numbers in the same unit. */
    ratio: number | null;
    /** How many repetitions the value is the median of. */
    repetitions?: number;
    /** One short sentence: a caveat, a pass/fail, why something was skipped. */
    note?: string;
}

export type Unit = "ms" | "statements" | "round trips" | "tps" | "errors" | "recall" | "index scans" | "rows" | "transactions";

/** The outcome of one part: its table rows and its raw figures for results.json. */
export interface PartResult {
    rows: Row[];
    /** Every measured number, raw samples included. */
    figures: Record<string, unknown>;
}

export interface BenchContext {
    /** Small sizes and fewer repetitions, for a smoke run. */
    quick: boolean;
    /** A progress line on stderr (the table goes to stdout). */
    progress(message: string): void;
}

export function median(samples: number[]): number {
    if (samples.length === 0) {
        throw new Error("median of no samples");
    }
    const sorted = [...samples].sort((a, b) => a - b);
    const middle = Math.floor(sorted.length / 2);
    return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/** Milliseconds `work` took, with its result. */
export async function timed<T>(work: () => Promise<T>): Promise<{ ms: number; result: T }> {
    const started = performance.now();
    const result = await work();
    return { ms: performance.now() - started, result };
}

export function ratio(value: number | null, baseline: number | null): number | null {
    return value === null || baseline === null || baseline === 0 ? null : value / baseline;
}

/** Rounds for the table and results.json: 3 significant digits, integers as they are. */
export function round(value: number): number {
    if (Number.isInteger(value) || value === 0) {
        return value;
    }
    return Number(value.toPrecision(3));
}

export function progressLogger(started = performance.now()): (message: string) => void {
    return (message) => process.stderr.write(`[bench ${((performance.now() - started) / 1000).toFixed(1).padStart(6)} s] ${message}\n`);
}
