// The printed table: one line per figure, memory-stack beside its baseline and their ratio.
import { round, type Row, type Unit } from "./measure";

const HEADERS = ["part", "figure", "memory-stack", "baseline", "ratio", "n", "note"];

export function formatTable(rows: Row[]): string {
    const cells = rows.map((row) => [
        row.part,
        row.figure,
        formatValue(row.value, row.unit),
        row.baseline
            ? `${formatValue(row.baseline.value, row.baseline.unit ?? row.unit)} (${row.baseline.label}${row.baseline.reference ? ", reference, not measured" : ""})`
            : "—",
        formatRatio(row.ratio),
        row.repetitions === undefined ? "" : String(row.repetitions),
        row.note ?? "",
    ]);
    const widths = HEADERS.map((header, column) => Math.max(header.length, ...cells.map((line) => line[column].length)));
    const line = (values: string[]) => `| ${values.map((value, column) => value.padEnd(widths[column])).join(" | ")} |`;
    return [line(HEADERS), `|${widths.map((width) => "-".repeat(width + 2)).join("|")}|`, ...cells.map(line)].join("\n");
}

export function formatValue(value: number | null, unit: Unit): string {
    if (value === null) {
        return "n/a";
    }
    const shown = round(value).toLocaleString("en-US", { maximumFractionDigits: 3 });
    if (unit === "recall") {
        return shown;
    }
    return `${shown} ${value === 1 && unit !== "ms" && unit !== "tps" ? unit.slice(0, -1) : unit}`;
}

/** memory-stack ÷ baseline; a small ratio also as a fraction, which reads faster ("1/480"). */
export function formatRatio(ratio: number | null): string {
    if (ratio === null) {
        return "—";
    }
    return ratio > 0 && ratio < 0.5 ? `${round(ratio)}× (1/${round(1 / ratio)})` : `${round(ratio)}×`;
}
