// A setup file: ends a test worker whose event loop has stopped running timers, naming the test that was
// running. A loop that never yields (a closed pg client fails each query within the same tick) or a
// synchronous wait that never returns keeps every timer from firing, the test's own timeout too: CI once
// spent 20 minutes in GC until the worker's heap ran out. A thread of its own sees the heartbeat stop and
// kills the worker, which fails the run at once. No test or hook may take longer than the hook timeout, so
// nothing sound blocks the loop that long.
import { Worker } from "node:worker_threads";
import { beforeEach, expect } from "vitest";

const STALL_MS = Number(process.env.MEMORY_STACK_TEST_STALL_MS ?? 120_000);

const WATCH = `
const { parentPort, workerData } = require("node:worker_threads");
const { writeSync } = require("node:fs");
const beat = new Float64Array(workerData.beat);
let running = workerData.running;
parentPort.on("message", (name) => (running = name));
setInterval(() => {
    const silent = Date.now() - beat[0];
    if (silent < workerData.stallMs) return;
    writeSync(2, "\\nstall watchdog: no timer ran for " + Math.round(silent / 1000) + " s in the test worker (pid " + process.pid +
        ") running " + running + ": a loop that never yields, or a synchronous wait that never returns. Killing the worker.\\n");
    process.kill(process.pid, "SIGKILL");
}, 1_000);
`;

const beat = new Float64Array(new SharedArrayBuffer(8));
beat[0] = Date.now();
setInterval(() => (beat[0] = Date.now()), 1_000).unref();
const watcher = new Worker(WATCH, {
    eval: true,
    workerData: { beat: beat.buffer, stallMs: STALL_MS, running: `${expect.getState().testPath ?? "a test file"}, outside its tests` },
});
watcher.unref();

beforeEach(({ task }) => {
    const names: string[] = [];
    for (let at: { name: string; suite?: unknown } | undefined = task; at; at = at.suite as typeof at) names.unshift(at.name);
    watcher.postMessage(`${task.file.name}: ${names.join(" > ")}`);
});
