// The application while a migration runs: clients that read and write goals and beliefs continuously,
// each as the app role with its user's id set per transaction (RLS), as an application behind
// PgBouncer does. Every statement is timed; every error is kept. What the clients wrote is tracked,
// so a test can check afterwards that every row and every embedding is as the application left it.
import { performance } from "node:perf_hooks";
import { Client, type ClientConfig } from "pg";
import { until } from "./poll";
import { embedding, type SeededUser } from "./switch-data";

/**
 * The embedding $2 (json text) as the column's type, whatever it is now: jsonb before the switch,
 * real[] after the stand-in's. A vector column takes the text '[…]' directly, as jsonb does, so a
 * real application needs none of this; the stand-in's real[] spells arrays {…}.
 */
function asColumnType(table: string, column: string): string {
    return `jsonb_populate_record(null::${table}, jsonb_build_object('${column}', $2::jsonb))`;
}

export interface AppLoadReport {
    statements: number;
    transactions: number;
    errors: string[];
    /** The slowest statement of any client. */
    maxLatencyMs: number;
    /** The embedding each goal and belief the clients wrote must hold now (inserted rows included). */
    written: Map<string, number[]>;
    /** Goals the clients inserted. */
    inserted: string[];
}

export interface AppLoad {
    /** Transactions the slowest client has finished. */
    progress(): number;
    /** Resolves once every client finished at least `transactions` transactions. */
    ran(transactions: number): Promise<void>;
    stop(): Promise<AppLoadReport>;
}

/** Failed transactions after which a loop gives up: a test that is going to fail has its errors by then. */
export const MAX_LOOP_ERRORS = 200;

/**
 * Runs `transaction` on `client` back to back until `stopping()`. A failed transaction's error is kept under
 * `label` and rolled back, and the loop goes on; once the server has ended the connection (a dropped database,
 * a stopped server) the loop ends. A closed client fails every query within the same tick, so a loop that went
 * on would never let a timer run, not even the test's timeout, while its errors filled the heap. Nor does it go
 * on after MAX_LOOP_ERRORS failures: one that fails every time on a live connection would fill it as well.
 */
export async function transactionLoop(
    client: Client,
    label: string,
    errors: string[],
    stopping: () => boolean,
    transaction: (i: number) => Promise<void>,
): Promise<void> {
    let lost = false;
    client.once("end", () => (lost = true));
    let failed = 0;
    for (let i = 0; !stopping(); i++) {
        try {
            await transaction(i);
        } catch (error) {
            errors.push(`${label}: ${(error as Error).message}`);
            // A rollback fails only on a connection that is gone, whether or not its end has been seen yet.
            const rolledBack = await client.query("rollback").then(
                () => true,
                () => false,
            );
            await new Promise((resolve) => setImmediate(resolve));
            if (lost || !rolledBack) {
                errors.push(`${label}: stopped, the server ended its connection`);
                return;
            }
            if (++failed === MAX_LOOP_ERRORS) {
                errors.push(`${label}: stopped after ${failed} failed transactions`);
                return;
            }
        }
    }
}

export async function startAppLoad(options: {
    config: ClientConfig;
    users: SeededUser[];
    dimensions: number;
    /** Also call match_goals (an exact scan over every goal in the jsonb variant: keep it off for big tables). Default: true. */
    search?: boolean;
}): Promise<AppLoad> {
    const operations = options.search === false ? 4 : 5;
    const report: AppLoadReport = { statements: 0, transactions: 0, errors: [], maxLatencyMs: 0, written: new Map(), inserted: [] };
    let stopping = false;
    const counts = options.users.map(() => 0);
    const clients: Client[] = [];
    const connect = async (name: string) => {
        const client = new Client({ ...options.config, application_name: name });
        client.on("error", () => undefined);
        await client.connect();
        clients.push(client);
        return client;
    };
    const timed = async (client: Client, text: string, values?: unknown[]) => {
        const started = performance.now();
        const result = await client.query(text, values);
        report.maxLatencyMs = Math.max(report.maxLatencyMs, performance.now() - started);
        report.statements++;
        return result;
    };
    let next = 1_000_000;
    const worker = async (client: Client, user: SeededUser, index: number) => {
        const goals = [...user.goals];
        await transactionLoop(
            client,
            `client ${index}`,
            report.errors,
            () => stopping,
            async (i) => {
                await timed(client, "begin");
                await timed(client, "select memory_stack.bind_user($1)", [user.id]);
                const vector = embedding(next++, options.dimensions);
                const goal = goals[i % goals.length];
                switch (i % operations) {
                    case 0:
                        await timed(client, "select id, goal_vector from goal_assessments where user_id = $1 order by id limit 5", [
                            user.id,
                        ]);
                        break;
                    case 1: {
                        const inserted = await timed(
                            client,
                            `insert into goal_assessments (user_id, agent_name, goal_text, goal_vector)
                             select $1, 'app', 'live goal', r.goal_vector from ${asColumnType("goal_assessments", "goal_vector")} r returning id`,
                            [user.id, JSON.stringify(vector)],
                        );
                        goals.push(inserted.rows[0].id);
                        report.inserted.push(inserted.rows[0].id);
                        report.written.set(inserted.rows[0].id, vector);
                        break;
                    }
                    case 2:
                        await timed(
                            client,
                            `update goal_assessments g set goal_vector = r.goal_vector, progress = 0.5
                             from ${asColumnType("goal_assessments", "goal_vector")} r where g.id = $1`,
                            [goal, JSON.stringify(vector)],
                        );
                        report.written.set(goal, vector);
                        break;
                    case 3: {
                        const belief = user.beliefs[i % user.beliefs.length];
                        await timed(
                            client,
                            `update belief_graphs b set belief_vector = r.belief_vector, confidence = 0.75
                             from ${asColumnType("belief_graphs", "belief_vector")} r where b.id = $1`,
                            [belief, JSON.stringify(vector)],
                        );
                        report.written.set(belief, vector);
                        break;
                    }
                    default:
                        await timed(client, "select goal_text from match_goals($1, 3)", [JSON.stringify(vector)]);
                }
                await timed(client, "commit");
                report.transactions++;
                counts[index]++;
            },
        );
    };
    const workers = await Promise.all(
        options.users.map(async (user, index) => ({ client: await connect(`app-load-${index}`), user, index })),
    );
    const tasks = workers.map(({ client, user, index }) => worker(client, user, index));
    return {
        progress: () => Math.min(...counts),
        async ran(transactions) {
            await until(
                `every application client to finish ${transactions} transactions`,
                () => (counts.every((count) => count >= transactions) ? true : undefined),
                120_000,
            );
        },
        async stop() {
            stopping = true;
            await Promise.all(tasks);
            await Promise.all(clients.map((client) => client.end().catch(() => undefined)));
            return report;
        },
    };
}
