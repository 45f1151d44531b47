import { explainDrift, type Drift } from "../../engine/migrate/plan";

/** The drift section of plan and status: nothing when there is none. */
export function driftLines(drift: Drift[]): string[] {
    return drift.length === 0 ? [] : ["drift:", ...drift.map((item) => `  ${explainDrift(item)}`)];
}
