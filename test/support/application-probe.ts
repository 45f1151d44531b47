// An application session that runs `select count(*)` on the given tables back to back, in a worker
// thread of its own so that what it measures is how long the database made each select wait, not how
// busy the test's own thread was. stop() gives the longest single select, in ms.
import { Worker } from "node:worker_threads";
import type { ClientConfig } from "pg";

const LOOP = `
const { parentPort, workerData } = require("node:worker_threads");
const { performance } = require("node:perf_hooks");
const { Client } = require(workerData.pg);
(async () => {
    const client = new Client(workerData.config);
    client.on("error", () => undefined);
    await client.connect();
    let running = true;
    let longest = 0;
    parentPort.on("message", () => { running = false; });
    parentPort.postMessage({ ready: true });
    while (running) {
        for (const table of workerData.tables) {
            const started = performance.now();
            await client.query("select count(*) from " + table);
            longest = Math.max(longest, performance.now() - started);
        }
        await new Promise((resolve) => setImmediate(resolve));
    }
    await client.end();
    parentPort.postMessage({ longest });
})().catch((error) => parentPort.postMessage({ error: String(error) }));
`;

export interface ApplicationProbe {
    stop(): Promise<number>;
}

export async function probeApplication(config: ClientConfig, tables: string[]): Promise<ApplicationProbe> {
    const worker = new Worker(LOOP, { eval: true, workerData: { config, tables, pg: require.resolve("pg") } });
    const messages: { ready?: boolean; longest?: number; error?: string }[] = [];
    let notify: () => void = () => undefined;
    worker.on("message", (message) => {
        messages.push(message);
        notify();
    });
    const next = async (key: "ready" | "longest") => {
        for (;;) {
            const found = messages.find((message) => key in message || "error" in message);
            if (found?.error) throw new Error(`application probe failed: ${found.error}`);
            if (found) return found;
            await new Promise<void>((resolve) => (notify = resolve));
        }
    };
    await next("ready");
    return {
        async stop() {
            worker.postMessage("stop");
            const { longest } = await next("longest");
            await worker.terminate();
            return longest!;
        },
    };
}
