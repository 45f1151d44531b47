// The upgrade from the release before 0013, run by `memory-stack apply` and stopped part way, as production
// stops it: its backend terminated (pg_terminate_backend) while 0013 waits behind an application's lock, while
// a batch of 0014's backfill waits for a row an agent holds, just after a step finished; Ctrl-C (SIGINT) of the
// CLI mid-backfill; a rollback started beside it. Each time the CLI must end with a clear message (no stack
// trace), the next apply must finish, and the ledger, the step ledger and the ownership records must be those
// of a clean upgrade of the same database: nothing recorded twice, nothing missing, nothing the stack did not
// create, and no row left underived.
import type { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cli, startCli } from "../support/cli";
import { dropRoles, sharedServer, type TestDatabase } from "../support/database";
import { releaseBeforeDerived, type ReleaseBeforeDerived } from "../support/managed-owner";
import { until } from "../support/poll";
import { seedEmbeddings } from "../support/switch-data";
import { applyMigrations, migrationsFor } from "../support/apply-sql";

const databases: TestDatabase[] = [];
const roles: string[] = [];
let clean: string;

afterAll(async () => {
    await Promise.all(databases.map((db) => db.drop()));
    await dropRoles(sharedServer(), roles);
});

/** `with0013`: 0013 applied too (it takes table locks an agent's row lock would block), so the apply starts at 0014's backfill. */
async function release(label: string, with0013 = false): Promise<ReleaseBeforeDerived & { admin: Client }> {
    const made = await releaseBeforeDerived(`a18_int_${label}`);
    databases.push(made.db);
    roles.push(...made.roles);
    // 900 goals and beliefs: batches of 100, then more, so a row past the first batch can be held.
    await seedEmbeddings(made.asOwner, { users: 3, goalsPerUser: 300, beliefsPerUser: 300, dimensions: 8 });
    if (with0013) {
        await applyMigrations(
            made.asOwner,
            migrationsFor(made.options).filter((migration) => migration.name < "0014"),
            made.options,
        );
    }
    return { ...made, admin: await made.db.connect({ application_name: "a18-observer" }) };
}

/** The ledger, the step ledger and the records, with the database's own name (in its roles' names) taken out. */
async function recordedState(made: ReleaseBeforeDerived): Promise<string> {
    const { rows } = await made.asOwner.query<{ state: string }>(`select jsonb_build_object(
        -- The files before 0013 were rendered with this database's role names (releaseBeforeDerived): their checksums differ;
        -- the options are recorded by the CLI's applies, not by the test's own (release(…, true) applies 0013).
        'ledger', (select jsonb_agg(jsonb_build_array(name, case when name >= '0013' then checksum end, variant,
                                                      case when name >= '0014' then options end) order by name)
                     from memory_stack.migrations),
        'steps', (select count(*) from memory_stack.migration_steps),
        -- What the CLI's upgrade recorded. The test's own setup (releaseBeforeDerived) applies the files before with no second
        -- session: on the shared server, another file's commit during 0009 can leave its roles unrecorded (appeared.ts).
        'records', (select jsonb_agg(jsonb_build_array(migration, kind, identity, schema_name, name, parent, arguments, adopted) order by position)
                      from memory_stack.created_objects where migration >= '0013'),
        'underived', (select count(*) from goal_assessments where goal_vector is not null and goal_vector_signs is null)
                   + (select count(*) from belief_graphs where belief_vector is not null and belief_vector_signs is null))::text as state`);
    return rows[0].state.replaceAll(made.db.name, "DB");
}

/** The apply's migrating backend: the one holding the migration lock. */
async function migrating(made: ReleaseBeforeDerived & { admin: Client }, waitingOn?: string): Promise<number | undefined> {
    const { rows } = await made.admin.query<{ pid: number }>(
        `select a.pid from pg_stat_activity a join pg_locks l on l.pid = a.pid and l.locktype = 'advisory' and l.granted
          where a.datname = current_database() and ($1::text is null or (a.wait_event_type = 'Lock' and a.query like $1))`,
        [waitingOn ?? null],
    );
    return rows[0]?.pid;
}

/** An agent's open transaction holding a goal's row, which a batch of 0014's backfill then waits for. */
async function agentHoldingGoalRow(made: ReleaseBeforeDerived): Promise<Client> {
    const holder = await made.db.connect({ application_name: "agent" });
    await holder.query(
        "begin; select from goal_assessments where id = (select id from goal_assessments order by id offset 150 limit 1) for update",
    );
    return holder;
}

/** `memory-stack apply` (with `flags`), once a backfill batch of it waits for the agent's row; its migrating backend. */
async function applyWaitingForRow(made: ReleaseBeforeDerived & { admin: Client }, flags = ["--lock-timeout", "60000"]) {
    const run = startCli(["apply", ...flags], made.owner.env);
    const pid = await until("a batch waiting for the agent's row", () => migrating(made, "%derive_only%"), 30_000).catch(async (error) => {
        console.log(
            run.stderrSoFar(),
            (
                await made.admin.query(
                    "select pid, application_name, state, wait_event_type, left(query, 200) as q from pg_stat_activity where datname = current_database()",
                )
            ).rows,
        );
        throw error;
    });
    return { run, pid };
}

const terminate = (made: { admin: Client }, pid: number) => made.admin.query("select pg_terminate_backend($1)", [pid]);

/** A second apply finishes, and leaves what a clean upgrade leaves. */
async function expectRecovered(made: ReleaseBeforeDerived & { admin: Client }): Promise<void> {
    const again = await cli(["apply"], made.owner.env);
    expect(again.code, again.stdout + again.stderr).toBe(0);
    expect(await recordedState(made)).toEqual(clean);
}

/** The CLI failed with a message of its own: no stack trace, no secret. */
function expectCleanFailure(run: { code: number; stderr: string }, code = 1): void {
    expect(run.code, run.stderr).toBe(code);
    expect(run.stderr).not.toMatch(/^\s+at /m);
    expect(run.stderr).not.toContain("owner-pw-123");
}

beforeAll(async () => {
    const made = await release("clean");
    const upgrade = await cli(["apply"], made.owner.env);
    expect(upgrade.code, upgrade.stderr).toBe(0);
    clean = await recordedState(made);
    expect(JSON.parse(clean).underived).toBe(0);
}, 120_000);

describe("an upgrade whose migrating backend is terminated", () => {
    it("while 0013 waits behind an application's transaction: fails cleanly, then the next apply finishes as a clean one", async () => {
        const made = await release("lockwait");
        const holder = await made.db.connect({ application_name: "reporting" });
        await holder.query("begin; select count(*) from goal_assessments");
        const run = startCli(["apply", "--lock-timeout", "60000"], made.owner.env);
        const pid = await until("0013 waiting for the application's lock", () => migrating(made, "%"), 30_000);
        await terminate(made, pid);
        const ended = await run.ended;
        await holder.query("commit");
        expectCleanFailure(ended);
        await expectRecovered(made);
    });

    it("while a batch of 0014's backfill waits for a row an agent holds: fails cleanly, then the next apply finishes as a clean one", async () => {
        const made = await release("batchwait", true);
        const holder = await agentHoldingGoalRow(made);
        const { run, pid } = await applyWaitingForRow(made);
        await terminate(made, pid);
        const ended = await run.ended;
        await holder.query("commit");
        expectCleanFailure(ended);
        await expectRecovered(made);
    });

    it("just after a step of 0014 finished: fails cleanly, then the next apply finishes as a clean one", async () => {
        const made = await release("betweensteps");
        const run = startCli(["apply"], made.owner.env);
        await until("derive_goals done", () => (/derive_goals \(step [^)]*\): done/.test(run.stderrSoFar()) ? true : undefined), 30_000);
        const pid = await migrating(made);
        if (pid !== undefined) await terminate(made, pid);
        const ended = await run.ended;
        if (pid !== undefined) expectCleanFailure(ended);
        await expectRecovered(made);
    });
});

describe("Ctrl-C of memory-stack apply", () => {
    it("mid-backfill: exits 130 saying what stays, and the next apply finishes as a clean one", async () => {
        const made = await release("sigint", true);
        const holder = await agentHoldingGoalRow(made);
        const { run } = await applyWaitingForRow(made);
        run.child.kill("SIGINT");
        const ended = await run.ended;
        await holder.query("commit");
        expectCleanFailure(ended, 130);
        expect(ended.stderr).toContain("run `memory-stack status`");
        const status = await cli(["status"], made.owner.env);
        expect(status.stdout + status.stderr).toMatch(/0014/);
        await expectRecovered(made);
    });
});

describe("a rollback started while the upgrade runs", () => {
    it("waits for the migration lock, then refuses (the tables hold data) or runs after it; nothing is half-done", async () => {
        const made = await release("beside", true);
        const holder = await agentHoldingGoalRow(made);
        const { run } = await applyWaitingForRow(made);
        const rollback = startCli(["rollback", "--lock-deadline", "60"], made.owner.env);
        await until(
            "the rollback waiting for the migration lock",
            () => (/waiting for the migration lock/.test(rollback.stderrSoFar()) ? true : undefined),
            30_000,
        );
        await holder.query("commit");
        const applied = await run.ended;
        const refused = await rollback.ended;
        expect(applied.code, applied.stderr).toBe(0);
        expectCleanFailure(refused);
        expect(refused.stderr).toMatch(/hold|data/);
        expect(await recordedState(made)).toEqual(clean);
    });
});

/**
 * An agent holding a goal's row, a first apply's backfill batch waiting for it, and a second apply waiting for the
 * migration lock, its wait line naming the first apply.
 */
async function secondApplyWaiting(made: Awaited<ReturnType<typeof release>>) {
    const holder = await agentHoldingGoalRow(made);
    const { run: first } = await applyWaitingForRow(made, []);
    const second = startCli(["apply"], made.owner.env);
    await until("the second waiting for the migration lock, naming the first", () =>
        /waiting for the migration lock .* another session holds it \(pid \d+ memory-stack-cli-apply/.test(second.stderrSoFar())
            ? true
            : undefined,
    );
    return { holder, first, second };
}

describe("two upgrades started together", () => {
    it("apply each migration once: the second waits for the migration lock, naming the first, then finds nothing to do", async () => {
        const made = await release("twice", true);
        const { holder, first, second } = await secondApplyWaiting(made);
        await holder.query("commit");
        const [one, two] = [await first.ended, await second.ended];
        expect(one.code, one.stderr).toBe(0);
        expect(two.code, two.stderr).toBe(0);
        expect(two.stdout + two.stderr).toContain("nothing to apply");
        expect(await recordedState(made)).toEqual(clean);
    });
});

describe("an application idle in a transaction that holds sessions (ACCESS SHARE) and a row it inserted there", () => {
    it("does not hold up the upgrade, which touches neither", async () => {
        const made = await release("sessions");
        const holder = await made.db.connect({ application_name: "billing-worker" });
        await holder.query(`begin; select count(*) from sessions;
            insert into sessions (user_id, agent_name, session_id) select id, 'billing', 's-1' from users limit 1`);
        const upgrade = await cli(["apply"], made.owner.env);
        await holder.query("rollback");
        expect(upgrade.code, upgrade.stderr).toBe(0);
        expect(upgrade.stderr).not.toContain("waiting for a lock");
        expect(await recordedState(made)).toEqual(clean);
    });
});

describe("an apply whose backend is terminated while it waits for the migration lock another apply holds", () => {
    it("fails cleanly, and the apply holding the lock finishes as a clean one", async () => {
        const made = await release("lockpoll", true);
        const { holder, first, second } = await secondApplyWaiting(made);
        const { rows } = await made.admin.query<{ pid: number }>(
            "select pid from pg_stat_activity where datname = current_database() and application_name = 'memory-stack-cli-apply' and pid <> $1",
            [await migrating(made)],
        );
        expect(rows).toHaveLength(1);
        await terminate(made, rows[0].pid);
        const two = await second.ended;
        await holder.query("commit");
        const one = await first.ended;
        expectCleanFailure(two);
        expect(one.code, one.stderr).toBe(0);
        expect(await recordedState(made)).toEqual(clean);
    });
});
