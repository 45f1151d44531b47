// Fails on purpose (self-check, with the stall watchdog at 3 s): a loop of promises that never lets a timer
// run, as an agent loop on a closed pg client did. Its own timeout cannot fire; the watchdog must end it.
import { describe, it } from "vitest";

describe("a loop that never yields", () => {
    it("spins", { timeout: 1_000 }, async () => {
        for (;;) await Promise.resolve();
    });
});
