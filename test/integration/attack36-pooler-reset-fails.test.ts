// attack36: the reset of the stack's PgBouncer can fail, and PgBouncer then hands the server connection to the next
// client as it is. A statement_timeout (the client's own, or one set on the role as the README suggests for session
// defaults) or a cancel that reaches the reset cancels it; PgBouncer skips the error and marks the server idle on
// ReadyForQuery. discard all rolls back what it resets: every setting and every temp table stays, so the next
// client's unqualified `sessions` reads the temp copy of another user's rows. Here a lock on the temp table makes the
// reset wait (many temp objects or a busy server do the same), so it fails every run with discard all. The rendered
// reset outlasts either timeout and keeps the server, and ends the server session when it fails. Debian's PgBouncer,
// the rendered config, one server connection.
import { Client } from "pg";
import { afterAll, beforeAll, expect, it } from "vitest";
import { findPgBouncer, startSharedPgBouncer, type RunningPgBouncer } from "../support/pgbouncer";
import { until } from "../support/poll";
import { grantStackPrivileges, schemaDatabase, type SchemaDatabase } from "../support/schema-db";

const PASSWORD = "attack36-reset-fails-0123";
const A = "00000000-0000-4000-8000-00000000000a";
const B = "00000000-0000-4000-8000-00000000000b";
const TIMEOUT = "500ms";
const binary = findPgBouncer();
if (!binary) {
    it.skip("the pooler's failed reset: pgbouncer is not installed (apt-get install -y pgbouncer)", () => undefined);
}

let schema: SchemaDatabase;

beforeAll(async () => {
    if (!binary) {
        return;
    }
    schema = await schemaDatabase("attack36_reset_fails");
    const owner = schema.client;
    await owner.query(`alter role "${schema.options.appRole}" login password '${PASSWORD}'`);
    await grantStackPrivileges(owner, schema.options);
    await owner.query("insert into users (id) values ($1), ($2)", [A, B]);
    await owner.query("insert into sessions (session_id, user_id, agent_name) values ('a-secret', $1, 'planner')", [A]);
});

afterAll(async () => {
    await schema?.drop();
});

async function pooled(bouncer: RunningPgBouncer): Promise<Client> {
    const client = new Client({
        host: bouncer.host,
        port: bouncer.port,
        database: schema.db.name,
        user: schema.options.appRole,
        password: PASSWORD,
    });
    client.on("error", () => undefined);
    await client.connect();
    return client;
}

async function backend(pid: number) {
    const { rows } = await schema.client.query(
        "select state, query, wait_event_type as wait, extract(epoch from clock_timestamp() - query_start)::float8 as waited from pg_stat_activity where pid = $1",
        [pid],
    );
    return rows[0] as { state: string; query: string; wait: string | null; waited: number } | undefined;
}

it.skipIf(!binary).each([
    ["the client's own statement_timeout", "client"],
    ["the role's statement_timeout (alter role … set)", "role"],
    ["a cancel", "cancel"],
] as const)("a reset that %s stops leaves the next client none of the last client's session", async (_, stop) => {
    const cancel = stop === "cancel";
    const role = `"${schema.options.appRole}"`;
    if (stop === "role") {
        await schema.client.query(`alter role ${role} set statement_timeout = '${TIMEOUT}'`);
    }
    // A pooler of its own per case, so that no case gets the server connection another left.
    const bouncer = await startSharedPgBouncer(schema.db, [{ name: schema.options.appRole, password: PASSWORD }]);
    const careless = await pooled(bouncer);
    const locker = await schema.db.connect();
    try {
        const { rows } = await careless.query("select pg_backend_pid() as pid");
        const pid = rows[0].pid as number;
        // One message, so no reset runs between its transactions: the last waits until another session holds a lock
        // on the committed temp table, which the reset's drop then waits for.
        const message = `
            set statement_timeout = 0;
            begin;
            select memory_stack.bind_user('${A}');
            create temp table sessions as select * from public.sessions;
            commit;
            listen a_channel;
            set work_mem = '1234kB';
            do $$ begin
                while not exists (select from pg_locks where relation = 'pg_temp.sessions'::regclass and pid <> pg_backend_pid() and granted) loop
                    perform pg_sleep(0.01);
                end loop;
            end $$;
            ${{ client: `set statement_timeout = '${TIMEOUT}'`, role: "reset statement_timeout", cancel: "" }[stop]};`;
        const left = careless.query(message);
        const temp = await until("the temp table to be committed", async () => {
            const found = await schema.client.query(
                "select relnamespace::regnamespace::text as nsp from pg_class where relname = 'sessions' and relpersistence = 't'",
            );
            return found.rows[0]?.nsp as string | undefined;
        });
        await locker.query("begin");
        await locker.query(`lock table ${temp}.sessions in access share mode`);
        await left;
        if (cancel) {
            await until("the reset to wait for the lock", async () => ((await backend(pid))?.wait === "Lock" ? true : undefined));
            // The signal lands before the lock goes: the wait ends in the cancel, not in the lock.
            await schema.client.query("select pg_cancel_backend($1)", [pid]);
        } else {
            // The timeout cancels the reset; one still waiting seconds after it began was not cancelled.
            await until("the reset to give up, or to outlast its statement_timeout", async () => {
                const seen = await backend(pid);
                if (seen?.query === message) {
                    return undefined; // the reset has not begun
                }
                return seen === undefined || seen.state === "idle" || (seen.wait === "Lock" && seen.waited > 3) ? true : undefined;
            });
        }
        await locker.query("commit");
        // A backend that ends drops its temp tables first, so it too waits for the lock.
        await until("the reset, or the server session, to end", async () => {
            const seen = await backend(pid);
            return seen === undefined || seen.state === "idle" ? true : undefined;
        });

        const next = await pooled(bouncer);
        try {
            await next.query("begin");
            await next.query("select memory_stack.bind_user($1)", [B]);
            const seen = await next.query(
                `select pg_backend_pid() = $1 as same_server, (select count(*)::int from sessions) as sessions,
                        (select count(*)::int from pg_class where relpersistence = 't') as temp_tables,
                        (select count(*)::int from pg_listening_channels()) as listening,
                        current_setting('statement_timeout') as statement_timeout, current_setting('work_mem') as work_mem`,
                [pid],
            );
            await next.query("commit");
            // A reset that outlasts the timeout keeps the server; one that fails ends it.
            expect(seen.rows[0]).toEqual({
                same_server: !cancel,
                sessions: 0,
                temp_tables: 0,
                listening: 0,
                statement_timeout: stop === "role" ? TIMEOUT : "0",
                work_mem: "4MB",
            });
        } finally {
            await next.end();
        }
    } finally {
        await locker.query("rollback").catch(() => undefined);
        await careless.end().catch(() => undefined);
        await bouncer.stop();
        await schema.client.query(`alter role ${role} reset statement_timeout`);
    }
});
