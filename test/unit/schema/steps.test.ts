import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { indexTarget, isSharedMemoryShortage } from "../../../engine/migrate/index-build";
import { loadMigrationSources, renderMigrations } from "../../../engine/migrate/render";
import { splitStatements } from "../../../engine/migrate/statements";
import { nextBatchSize } from "../../../engine/migrate/step-runner";
import { declaredSteps, parameters, StepDeclarationError, type Step } from "../../../engine/migrate/steps";
import { SQL_DIR } from "../../../engine/paths";
import { DEFAULT_OPTIONS } from "../../support/apply-sql";
import { STAND_IN_DIR } from "../../support/switch-data";

async function steps(sql: string): Promise<Step[] | undefined> {
    return declaredSteps("0099_test.sql", sql, await splitStatements(sql));
}

async function refusal(sql: string): Promise<string> {
    const error = await steps(sql).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StepDeclarationError);
    return (error as Error).message;
}

const shape = (list: Step[] | undefined) =>
    list?.map((step) => ({ name: step.name, kind: step.kind, guard: step.guard?.kind, statements: step.statements.map((s) => s.kind) }));

describe("declaredSteps", () => {
    it("leaves a file without markers to run in one transaction", async () => {
        expect(await steps("create table a (id int);\ncreate table b (id int);")).toBeUndefined();
    });

    it("reads each marker's name and kind, transaction by default, and a batched or loose step's leading select as its guard", async () => {
        const sql = `-- step: expand
create table t (id int primary key, v int);
-- step: fill batched
-- a comment between the marker and the statements
select count(*) from t;
update t set v = 1 where id in (select id from t where id > $1 order by id limit 10) returning id;
-- step: build no transaction
select true;
create index concurrently if not exists t_v on t (v);
-- step: only no transaction
select 1;`;
        expect(shape(await steps(sql))).toEqual([
            { name: "expand", kind: "transaction", guard: undefined, statements: ["CreateStmt"] },
            { name: "fill", kind: "batched", guard: "SelectStmt", statements: ["UpdateStmt"] },
            { name: "build", kind: "no transaction", guard: "SelectStmt", statements: ["IndexStmt"] },
            { name: "only", kind: "no transaction", guard: undefined, statements: ["SelectStmt"] },
        ]);
        expect((await steps(sql))![1].line).toBe(3);
    });

    it("refuses what it cannot run safely, naming the line and what to do", async () => {
        expect(await refusal("select 1;\n-- step: a\nselect 2;")).toContain(
            "0099_test.sql line 1: a statement before the first `-- step:` marker",
        );
        expect(await refusal("-- step: a\nselect 1;\n-- step: a\nselect 2;")).toContain("line 3: two steps are named a");
        expect(await refusal("-- step: a sometimes\nselect 1;")).toContain(
            'step a: unknown kind "sometimes"; one of transaction, no transaction, batched',
        );
        expect(await refusal("-- step: Big\nselect 1;")).toContain('step name "Big" must be lowercase');
        expect(await refusal("-- step: a\n-- step: b\nselect 1;")).toContain("line 1: step a has no statement");
        expect(await refusal("-- step: a\ncreate index concurrently i on t (v);")).toContain(
            'line 2: step a: "create index concurrently i on t (v)" cannot run inside a transaction; declare the step "no transaction"',
        );
        expect(await refusal("create index concurrently i on t (v);")).toContain(
            "put it in a step of its own: -- step: <name> no transaction",
        );
        expect(await refusal("-- step: a no transaction\ncreate index concurrently i on t (v);")).toContain(
            'create index concurrently needs a name and "if not exists"',
        );
        expect(await refusal("-- step: a batched\nupdate t set v = 1;")).toContain(
            "batched step a needs one batch statement that returns the keys it handled",
        );
        expect(await refusal("-- step: a batched\nselect id from t where id > $2;")).toContain(
            "the batch may use $1 (the last key of the previous batch) and $2 (the rows to take, with $1), no other parameter",
        );
        expect(
            await refusal(`-- step: a
create function f() returns int language sql as $$
-- step: b
select 1
$$;`),
        ).toContain("line 3: a `-- step:` marker inside a statement");
    });

    it("finds the parameters a statement uses", async () => {
        const [statement] = await splitStatements("select $1::int + $3 where $1 is not null");
        expect(parameters(statement)).toEqual([1, 3]);
    });
});

describe("the vector switch's files", () => {
    const rendered = renderMigrations(loadMigrationSources(), { ...DEFAULT_OPTIONS, vector: true });
    const stepsOf = async (name: string, files = rendered) => {
        const file = files.find((m) => m.name === name)!;
        return shape(declaredSteps(file.name, file.sql, await splitStatements(file.sql)));
    };

    it("declare precheck, expand, batched backfills and concurrent index builds, then a bridge and one short contract per table", async () => {
        expect((await stepsOf("0015_vector_expand.sql"))!.map((s) => `${s.name} ${s.kind}${s.guard ? " (guarded)" : ""}`)).toEqual([
            "precheck transaction",
            "expand transaction",
            "backfill_goals batched (guarded)",
            "backfill_beliefs batched (guarded)",
            "index_goals no transaction (guarded)",
            "index_beliefs no transaction (guarded)",
        ]);
        expect((await stepsOf("0016_vector_contract.sql"))!.map((s) => `${s.name} ${s.kind}`)).toEqual([
            "bridge transaction",
            "contract_goals transaction",
            "contract_beliefs transaction",
            "cleanup transaction",
            "index_goals no transaction",
            "index_beliefs no transaction",
        ]);
    });

    it("are what the stand-in of the PostgreSQL 15 tests runs: the same steps with the same statements", async () => {
        const standIn = renderMigrations(loadMigrationSources(STAND_IN_DIR), { ...DEFAULT_OPTIONS, vector: true });
        expect(await stepsOf("0015_stand_in_expand.sql", standIn)).toEqual(
            (await stepsOf("0015_vector_expand.sql"))!.map((step) =>
                // The stand-in has no extension to create.
                step.name === "precheck" ? { ...step, statements: step.statements.slice(1) } : step,
            ),
        );
        expect(await stepsOf("0016_stand_in_contract.sql", standIn)).toEqual(await stepsOf("0016_vector_contract.sql"));
    });

    it("leave the retired 0010_vector byte for byte as it shipped (ledgers hold its checksum)", () => {
        const text = readFileSync(join(SQL_DIR, "0010_vector.sql"));
        expect(createHash("sha256").update(text).digest("hex")).toBe("f5d9bfd83e2cd11697c3522183294d4a8c55e6786ff7df6b2e9f87f4bab8a23b");
    });
});

describe("indexTarget", () => {
    it("reads the table, the name, the indexed column or cast expression and hnsw's m from the parse tree", async () => {
        const [plain, cast] =
            await splitStatements(`create index concurrently if not exists "Idx" on public."Goals" using hnsw (goal_vector vector_cosine_ops);
            create index concurrently if not exists i2 on goals using hnsw ((goal_vector::halfvec(3072)) halfvec_cosine_ops) with (m = 24)`);
        expect(indexTarget(plain)).toEqual({
            table: '"public"."Goals"',
            name: "Idx",
            expressions: ['"goal_vector"'],
            method: "hnsw",
            m: 16,
        });
        expect(indexTarget(cast)).toEqual({
            table: '"goals"',
            name: "i2",
            expressions: ['("goal_vector")::halfvec(3072)'],
            method: "hnsw",
            m: 24,
        });
        const [other] = await splitStatements("select 1");
        expect(indexTarget(other)).toBeUndefined();
    });

    it("recognises a parallel build that could not get its shared memory, and nothing else", () => {
        const shortage = {
            sqlState: "53100",
            message: 'could not resize shared memory segment "/PostgreSQL.1" to 67108864 bytes: No space left on device',
        };
        expect(isSharedMemoryShortage(shortage)).toBe(true);
        // lc_messages translates the text, not the server source file that raised it.
        const translated = {
            code: "53100",
            file: "dsm_impl.c",
            message: 'konnte Größe des Shared-Memory-Segments "/PostgreSQL.1" nicht auf 67108864 Bytes ändern',
        };
        expect(isSharedMemoryShortage(translated)).toBe(true);
        expect(isSharedMemoryShortage({ sqlState: "53100", message: "could not extend file" })).toBe(false);
        expect(isSharedMemoryShortage({ code: "53100", file: "md.c", message: "konnte Datei nicht erweitern" })).toBe(false);
        expect(isSharedMemoryShortage({ code: "23505", message: "duplicate key" })).toBe(false);
    });
});

describe("nextBatchSize", () => {
    it("scales the next batch to take the target time, at most doubling, between 1 and 10,000 rows", () => {
        expect(nextBatchSize(100, 10, 100)).toBe(200); // fast: at most double
        expect(nextBatchSize(100, 80, 100)).toBe(125);
        expect(nextBatchSize(200, 700, 100)).toBe(29); // slow (a loaded machine, wide rows): shrink at once
        expect(nextBatchSize(1, 5_000, 100)).toBe(1);
        expect(nextBatchSize(8_000, 1, 100)).toBe(10_000);
    });
});
