// The step machinery on PostgreSQL 15, with small migrations of its own: what is recorded when, what a
// re-run skips or resumes, how a cut-off concurrent index build is cleaned up, how lock timeouts are
// retried up to a deadline, and that planning refuses to resume a migration from another text.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
    applyMigrations,
    loadRollbackSql,
    readLedger,
    readRecords,
    rollbackSchema,
    schemaStatus,
    SchemaRefusedError,
    SqlFileError,
    type SessionOptions,
} from "../../engine/migrate/index";
import { repairSchema } from "../../engine/migrate/repair";
import { readStepLedger } from "../../engine/migrate/step-ledger";
import type { StepEvent, StepOptions } from "../../engine/migrate/step-runner";
import { DEFAULT_OPTIONS, migrationsFor } from "../support/apply-sql";
import { freshDatabase, type TestDatabase } from "../support/database";
import { migration } from "../support/migrations";
import { until } from "../support/poll";
import { REPO } from "../support/stack-files";

let db: TestDatabase;
let client: Client;

beforeAll(async () => {
    db = await freshDatabase("migration_steps");
    client = await db.connect();
});

afterAll(async () => {
    await db?.drop();
});

// The ledger keeps every migration a test applied, so each apply passes the program so far: earlier files first.
const program: ReturnType<typeof migration>[] = [];

function apply(files: ReturnType<typeof migration>[], steps: StepOptions = {}, session: SessionOptions = {}) {
    for (const file of files) if (!program.some((known) => known.name === file.name)) program.push(file);
    return applyMigrations(client, program, { variant: "jsonb", steps, ...session });
}

function collect(): { events: StepEvent[]; onEvent: (event: StepEvent) => void } {
    const events: StepEvent[] = [];
    return { events, onEvent: (event) => events.push(event) };
}

describe("a migration in transactional steps", () => {
    const three = migration(
        "0001_three_steps.sql",
        `-- step: create
create table t (id int primary key, v int not null default 0);
create table step_log (step text);
create table fail_c (flag int);
insert into fail_c values (1);
-- step: log
insert into step_log values ('log');
-- step: finish
do $$ begin if exists (select from fail_c) then raise exception 'finish is told to fail'; end if; end $$;
insert into step_log values ('finish');`,
    );

    it("records each step when it commits and the migration only with the last one", async () => {
        const error = await apply([three]).catch((e: unknown) => e);

        expect(error).toBeInstanceOf(SqlFileError);
        expect((error as SqlFileError).file).toBe("0001_three_steps.sql");
        expect((error as SqlFileError).line).toBe(9);
        expect((error as Error).message).toContain("0001_three_steps.sql step finish was rolled back; the steps before it stay done");
        expect((await readStepLedger(client)).map((row) => [row.step, row.finished])).toEqual([
            ["create", true],
            ["log", true],
        ]);
        expect(await readLedger(client)).toEqual([]);
        expect((await client.query("select step from step_log")).rows).toEqual([{ step: "log" }]);
    });

    it("shows a partly applied migration in the status, as pending", async () => {
        const status = await schemaStatus(client, [three], "jsonb");
        expect(status.pending).toEqual(["0001_three_steps.sql"]);
        expect(status.steps.map((row) => row.step)).toEqual(["create", "log"]);
    });

    it("refuses, before anything runs, to resume it from another text or to leave it unfinished", async () => {
        const edited = migration(three.name, `${three.sql}\nselect 1;`);
        const error = await applyMigrations(client, [edited], { variant: "jsonb" }).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(SchemaRefusedError);
        expect((error as Error).message).toContain(
            "0001_three_steps.sql is partly applied (steps done: create, log; variant jsonb) from another text",
        );
        const without = await applyMigrations(client, [], { variant: "jsonb" }).catch((e: unknown) => e);
        expect((without as Error).message).toContain("and this program (jsonb) does not have it");
        expect((await client.query("select step from step_log")).rows).toEqual([{ step: "log" }]);
    });

    it("resumes at the step that failed: the steps done are not run again", async () => {
        await client.query("delete from fail_c");
        const { events, onEvent } = collect();

        const result = await apply([three], { onEvent });

        expect(result.applied.map((item) => item.name)).toEqual(["0001_three_steps.sql"]);
        expect(events.filter((e) => e.type === "step").map((e) => [e.step, (e as { outcome: string }).outcome])).toEqual([
            ["create", "done before"],
            ["log", "done before"],
            ["finish", "done"],
        ]);
        expect((await client.query("select step from step_log order by step")).rows).toEqual([{ step: "finish" }, { step: "log" }]);
        expect((await readLedger(client)).map((row) => row.name)).toEqual(["0001_three_steps.sql"]);
        expect(await readStepLedger(client)).toEqual([]);
    });
});

describe("a batched step", () => {
    const setup = migration(
        "0002_items.sql",
        `create table items (id int primary key, v int not null check (v < 1000));
insert into items select n, n % 100 from generate_series(1, 1000) n;
update items set v = 999 where id = 550;`,
    );
    const batched = migration(
        "0003_bump.sql",
        `-- step: bump batched
select count(*) from items;
with batch as (select id from items where $1::int is null or id > $1::int order by id limit 100),
bumped as (update items set v = v + 1 from batch where items.id = batch.id)
select id from batch order by id;
-- step: never batched
select count(*) from items where false;
select id from no_such_table where id > $1;`,
    );

    it("commits each batch on its own: a failing batch keeps the batches before it and where they stopped", async () => {
        await apply([setup]);
        const { events, onEvent } = collect();
        const error = await apply([setup, batched], { onEvent }).catch((e: unknown) => e);

        expect(error).toBeInstanceOf(SqlFileError);
        expect((error as Error).message).toContain("0003_bump.sql step bump rolled back its last batch only");
        expect(events.filter((e) => e.type === "rows").map((e) => [(e as { done: number }).done, (e as { total: number }).total])).toEqual([
            [100, 1000],
            [200, 1000],
            [300, 1000],
            [400, 1000],
            [500, 1000],
        ]);
        expect(await readStepLedger(client)).toMatchObject([{ step: "bump", finished: false, rowsDone: 500, cursor: "500" }]);
        const { rows } = await client.query("select count(*) filter (where v = id % 100 + 1)::int as bumped from items");
        expect(rows[0].bumped).toBe(500); // ids 1..500, once each; nothing after the failed batch
    });

    it("resumes after the kept key, bumps every row exactly once, and skips a step whose count is 0 without running its batch", async () => {
        await client.query("update items set v = 50 where id = 550");
        const { events, onEvent } = collect();

        await apply([setup, batched], { onEvent });

        const rows = events.filter((e) => e.type === "rows" && e.step === "bump") as { done: number }[];
        expect(rows[0].done).toBe(600);
        expect(rows.at(-1)!.done).toBe(1000);
        expect(events.find((e) => e.type === "step" && e.step === "never")).toMatchObject({ outcome: "nothing to do" });
        const check = await client.query("select count(*) filter (where v <> id % 100 + 1)::int as wrong from items");
        expect(check.rows[0].wrong).toBe(0);
        expect((await readLedger(client)).map((row) => row.name)).toEqual(["0001_three_steps.sql", "0002_items.sql", "0003_bump.sql"]);
    });

    it("reports a guard that fails (it goes with the first batch's begin) as the step's statement at its line, with nothing recorded", async () => {
        const broken = migration(
            "0099_broken_guard.sql",
            `-- step: count batched
select count(*) from no_such_items;
select id from items where $1::int is null or id > $1::int order by id limit $2;`,
        );
        // Not in the program: later tests apply without it.
        const error = await applyMigrations(client, [...program, broken], { variant: "jsonb" }).catch((e: unknown) => e);

        expect(error).toBeInstanceOf(SqlFileError);
        expect((error as Error).message).toMatch(
            /^0099_broken_guard\.sql failed at line 2 with SQLSTATE 42P01: relation "no_such_items" does not exist/,
        );
        expect((error as Error).message).toContain("0099_broken_guard.sql step count rolled back its last batch only");
        expect((await readStepLedger(client)).filter((row) => row.migration === broken.name)).toEqual([]);
    });
});

describe("a no-transaction step", () => {
    const setup = migration(
        "0004_codes.sql",
        "create table codes (code int); insert into codes select n % 50 from generate_series(1, 100) n;",
    );
    const indexed = migration(
        "0005_codes_index.sql",
        `-- step: unique_codes no transaction
create unique index concurrently if not exists codes_code_key on codes (code);`,
    );

    it("drops the invalid index a failed concurrent build left, builds it again, and restores the session's settings", async () => {
        await apply([setup]);
        await client.query("set statement_timeout = '5min'"); // the build runs without it, and gets it back
        const before = (
            await client.query(
                "select current_setting('maintenance_work_mem') as m, current_setting('lock_timeout') as l, current_setting('statement_timeout') as s",
            )
        ).rows[0];
        const failed = await apply([setup, indexed]).catch((e: unknown) => e);
        expect((failed as SqlFileError).sqlState).toBe("23505");
        expect((await client.query("select indisvalid from pg_index where indexrelid = 'codes_code_key'::regclass")).rows).toEqual([
            { indisvalid: false },
        ]);
        await client.query("delete from codes where ctid not in (select min(ctid) from codes group by code)");
        const { events, onEvent } = collect();

        await apply([setup, indexed], { onEvent, maintenanceWorkMemMb: 8 });

        expect(events.find((e) => e.type === "invalid index dropped")).toMatchObject({ index: "codes_code_key" });
        expect(events.find((e) => e.type === "index memory")).toMatchObject({ index: "codes_code_key", boundMb: 8 });
        expect((await client.query("select indisvalid from pg_index where indexrelid = 'codes_code_key'::regclass")).rows).toEqual([
            { indisvalid: true },
        ]);
        expect(
            (
                await client.query(
                    "select current_setting('maintenance_work_mem') as m, current_setting('lock_timeout') as l, current_setting('statement_timeout') as s",
                )
            ).rows[0],
        ).toEqual(before);
    });

    it("is what repair runs again, step by step, to re-create an index that was dropped", async () => {
        await client.query("drop index codes_code_key");
        const result = await repairSchema(client, [setup, indexed]);
        expect(result.rerun).toEqual(["0005_codes_index.sql"]);
        expect((await client.query("select indisvalid from pg_index where indexrelid = 'codes_code_key'::regclass")).rows).toEqual([
            { indisvalid: true },
        ]);
        // Recorded before the build, it gets the oid of the index built (engine/migrate/identity.ts).
        const record = (await readRecords(client)).find((candidate) => candidate.identity === "index public.codes_code_key");
        const built = await client.query<{ oid: number }>("select 'codes_code_key'::regclass::oid::int as oid");
        expect(record?.oid).toBe(built.rows[0].oid);
    });
});

describe("lock timeouts", () => {
    const alter = migration("0006_alter.sql", "-- step: widen\nalter table items add column w int;");

    it("are retried with backoff while an application transaction holds the table, then the step goes through", async () => {
        const holder = await db.connect({ application_name: "app-holding-items" });
        await holder.query("begin; select count(*) from items");
        const waits: string[] = [];
        const applying = apply([alter], {}, { locks: { timeoutMs: 100 }, onWait: (line) => waits.push(line), connect: () => db.connect() });
        // The watcher's connection opens with the first wait: under load, the first attempt's 100 ms may pass before it can
        // name the holder (that line says it was not identified); the next attempts name it.
        const named = await until("a lock wait naming the holder", () => waits.find((line) => line.includes("app-holding-items")));
        await holder.query("commit");

        await applying;

        expect(named).toContain("0006_alter.sql step widen was blocked");
        expect(named).toContain("lock_timeout 100 ms");
        expect(
            (await client.query("select count(*)::int as n from pg_attribute where attrelid = 'items'::regclass and attname = 'w'")).rows[0]
                .n,
        ).toBe(1);
    });

    it("fail at the deadline, naming the transactions in the way, with the step not recorded", async () => {
        const late = migration("0007_alter.sql", "-- step: again\nalter table items add column x int;");
        const holder = await db.connect({ application_name: "app-never-done" });
        await holder.query("begin; select count(*) from items");

        const error = await apply(
            [alter, late],
            {},
            { locks: { timeoutMs: 100, deadlineSeconds: 0.7 }, connect: () => db.connect() },
        ).catch((e: unknown) => e);
        await holder.query("rollback");

        expect((error as Error).message).toMatch(
            /gave up waiting for locks after [\d.]+ s \(\d+ attempts, each waiting at most lock_timeout\): 0007_alter\.sql step again was blocked/,
        );
        expect((error as Error).message).toContain("app-never-done");
        expect(await readStepLedger(client)).toEqual([]);
        expect((await readLedger(client)).map((row) => row.name)).not.toContain("0007_alter.sql");
    });
});

describe("rollback", () => {
    it("removes the step ledger with the ledger", async () => {
        const partial = migration("0008_partial.sql", "-- step: one\nselect 1;\n-- step: two\nselect 1/0;");
        await apply([partial]).catch(() => undefined);
        expect(await readStepLedger(client)).toHaveLength(1);

        await rollbackSchema(client, { rollbackSql: loadRollbackSql(), allowDataLoss: true, defaults: DEFAULT_OPTIONS });

        expect((await client.query("select count(*)::int as n from pg_namespace where nspname = 'memory_stack'")).rows[0].n).toBe(0);
    });
});

describe("the example in docs/migrations.md", () => {
    it("runs as documented on the memory schema: a column filled in, indexed and required, rows counted as they are done", async () => {
        const doc = readFileSync(join(REPO, "docs", "migrations.md"), "utf8");
        const example = /## An example to copy[\s\S]*?```sql\n([\s\S]*?)```/.exec(doc)![1];
        const memory = await freshDatabase("steps_example");
        try {
            const owner = await memory.connect();
            const base = migrationsFor({ rls: false });
            await applyMigrations(owner, base, { variant: "jsonb" });
            await owner.query(
                `insert into memory_logs (agent_name, operation, content)
                 select 'a', 'write', case when n % 10 = 0 then null else jsonb_build_object('n', n) end from generate_series(1, 2500) n`,
            );
            const events: StepEvent[] = [];

            await applyMigrations(owner, [...base, migration("0021_memory_log_sizes.sql", example)], {
                variant: "jsonb",
                steps: { onEvent: (event) => events.push(event) },
            });

            const rows = events.filter((e) => e.type === "rows") as { done: number; total: number }[];
            expect(rows[0]).toEqual(expect.objectContaining({ done: 100, total: 2500 })); // the engine starts at 100 rows a batch ($2)
            expect(rows.at(-1)).toEqual(expect.objectContaining({ done: 2500, total: 2500 }));
            const { rows: state } = await owner.query(`select
                (select count(*)::int from memory_logs where content_size is distinct from coalesce(pg_column_size(content), 0)) as wrong,
                (select convalidated from pg_constraint where conname = 'memory_logs_content_size_present') as validated,
                (select indisvalid from pg_index where indexrelid = 'idx_memory_logs_content_size'::regclass) as indexed`);
            expect(state[0]).toEqual({ wrong: 0, validated: true, indexed: true });
            await owner.query("insert into memory_logs (agent_name, operation, content) values ('a', 'read', '[1, 2]')");
            const written = await owner.query(
                "select content_size = pg_column_size(content) as kept from memory_logs where operation = 'read'",
            );
            expect(written.rows).toEqual([{ kept: true }]); // the trigger fills it in for new rows
        } finally {
            await memory.drop();
        }
    });
});
