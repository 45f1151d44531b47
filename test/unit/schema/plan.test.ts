import { describe, expect, it } from "vitest";
import type { LedgerRow } from "../../../engine/migrate/ledger";
import { describeVariant, planMigrations, SchemaRefusedError } from "../../../engine/migrate/plan";
import { schemaChecksum } from "../../../engine/migrate/render";
import type { StepRow } from "../../../engine/migrate/step-ledger";
import { migration } from "../../support/migrations";

const one = migration("0001_one.sql", "create table one (id int);");
const two = migration("0002_two.sql", "create table two (id int);");
const vectorFile = migration("0010_vector.sql", "alter table one add column v vector(3);");

function row(file: { name: string; checksum: string }, variant = "jsonb"): LedgerRow {
    return { name: file.name, checksum: file.checksum, variant, recorded: true, appliedAt: new Date(0), durationMs: 1 };
}

describe("planMigrations", () => {
    it("lists every migration as pending on an empty ledger", () => {
        const plan = planMigrations([], [one, two], "jsonb");
        expect(plan.pending.map((m) => m.name)).toEqual(["0001_one.sql", "0002_two.sql"]);
        expect(plan.drift).toEqual([]);
    });

    it("lists only what the ledger lacks as pending", () => {
        const plan = planMigrations([row(one)], [one, two], "jsonb");
        expect(plan.applied.map((r) => r.name)).toEqual(["0001_one.sql"]);
        expect(plan.pending.map((m) => m.name)).toEqual(["0002_two.sql"]);
    });

    it("reports an applied migration whose text changed as checksum drift, telling to write a new migration", () => {
        const edited = migration(one.name, "create table one (id bigint);");
        const plan = planMigrations([row(one)], [edited, two], "jsonb");
        expect(plan.drift).toMatchObject([{ kind: "checksum", name: "0001_one.sql" }]);
        const message = new SchemaRefusedError(plan.drift).message;
        expect(message).toContain("nothing was run");
        expect(message).toContain("0001_one.sql changed after it was applied");
        expect(message).toContain("never edited");
        expect(message).toContain("new migration");
    });

    it("explains a changed vectorDimensions as a variant change, not an edit", () => {
        const rerendered = migration(vectorFile.name, "alter table one add column v vector(768);");
        const plan = planMigrations([row(one, "vector(3,hnsw)"), row(vectorFile, "vector(3,hnsw)")], [one, rerendered], "vector(768,hnsw)");
        const message = new SchemaRefusedError(plan.drift).message;
        expect(message).toContain(
            "0010_vector.sql was applied for variant vector(3,hnsw), but this program renders it for vector(768,hnsw)",
        );
        expect(message).toContain("vectorDimensions and vectorIndex cannot change");
    });

    it("refuses turning vector off once the vector migration ran, saying what to do", () => {
        const plan = planMigrations([row(one, "vector(3,hnsw)"), row(vectorFile, "vector(3,hnsw)")], [one], "jsonb");
        expect(plan.drift).toMatchObject([{ kind: "unknown", name: "0010_vector.sql" }]);
        expect(new SchemaRefusedError(plan.drift).message).toContain("Turning vector off on a live stack is not supported");
    });

    it("reports a ledger row for a file the program does not have as drift from a newer version", () => {
        const plan = planMigrations([row(one), row(two)], [one], "jsonb");
        expect(new SchemaRefusedError(plan.drift).message).toContain("the ledger records 0002_two.sql, which this program does not have");
    });

    it("rejects a migration list that names a file twice", () => {
        expect(() => planMigrations([], [one, one], "jsonb")).toThrow("0001_one.sql is listed twice");
    });
});

describe("describeVariant", () => {
    it("names the jsonb variant and the vector variant with its dimensions and index", () => {
        expect(describeVariant({ vector: false, vectorDimensions: 1536, vectorIndex: "hnsw" })).toBe("jsonb");
        expect(describeVariant({ vector: true, vectorDimensions: 768, vectorIndex: "ivfflat" })).toBe("vector(768,ivfflat)");
    });
});

describe("the retired 0010_vector.sql", () => {
    const expand = migration("0015_vector_expand.sql", "-- step: a\nselect 1;");

    it("is never pending where the ledger does not list it, and not drift either", () => {
        const plan = planMigrations([row(one, "vector(3,hnsw)")], [one, vectorFile, expand], "vector(3,hnsw)");
        expect(plan.pending.map((m) => m.name)).toEqual(["0015_vector_expand.sql"]);
        expect(plan.drift).toEqual([]);
    });

    it("still verifies where the ledger lists it: applied when unchanged, drift when edited", () => {
        const ledger = [row(one, "vector(3,hnsw)"), row(vectorFile, "vector(3,hnsw)")];
        expect(planMigrations(ledger, [one, vectorFile, expand], "vector(3,hnsw)").applied.map((r) => r.name)).toEqual([
            "0001_one.sql",
            "0010_vector.sql",
        ]);
        const edited = migration(vectorFile.name, `${vectorFile.sql} -- edited`);
        expect(planMigrations(ledger, [one, edited, expand], "vector(3,hnsw)").drift).toMatchObject([
            { kind: "checksum", name: "0010_vector.sql" },
        ]);
    });

    it("is left out of the schema checksum, so stacks that ran it and stacks that never did agree with the program", () => {
        expect(schemaChecksum([one, vectorFile, expand])).toBe(schemaChecksum([one, expand]));
        expect(schemaChecksum([one, expand])).not.toBe(schemaChecksum([one]));
    });
});

describe("a migration partly applied in steps", () => {
    const stepped = migration("0002_two.sql", "-- step: a\nselect 1;\n-- step: b\nselect 2;");
    const step = (overrides: Partial<StepRow> = {}): StepRow => ({
        migration: stepped.name,
        step: "a",
        checksum: stepped.checksum,
        variant: "jsonb",
        rowsDone: 0,
        cursor: null,
        finished: true,
        durationMs: 1,
        ...overrides,
    });

    it("stays pending, to resume, when the program renders the same text", () => {
        const plan = planMigrations([row(one)], [one, stepped], "jsonb", [step()]);
        expect(plan.pending.map((m) => m.name)).toEqual(["0002_two.sql"]);
        expect(plan.drift).toEqual([]);
    });

    it("is refused when the program renders another text, naming the steps done and how far a batch got", () => {
        const other = migration(stepped.name, `${stepped.sql}\nselect 3;`);
        const plan = planMigrations([row(one)], [one, other], "jsonb", [step(), step({ step: "b", finished: false, rowsDone: 400 })]);
        expect(plan.drift).toMatchObject([{ kind: "partial", name: "0002_two.sql", steps: ["a", "b (400 rows)"] }]);
        expect(new SchemaRefusedError(plan.drift).message).toContain(
            "0002_two.sql is partly applied (steps done: a, b (400 rows); variant jsonb) from another text",
        );
    });

    it("is refused when the program does not render it (vector turned off in the middle of the switch)", () => {
        const plan = planMigrations([row(one)], [one], "jsonb", [step({ variant: "vector(3,hnsw)" })]);
        expect(new SchemaRefusedError(plan.drift).message).toContain(
            "0002_two.sql is partly applied (steps done: a; variant vector(3,hnsw)), and this program (jsonb) does not have it",
        );
    });
});
