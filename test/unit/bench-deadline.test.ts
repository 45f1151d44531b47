// The benchmark's per-part deadline (bench/support/deadline.ts): CI runs `npm run bench -- --quick` last,
// outside vitest, where nothing else would stop a part that never finishes.
import { describe, expect, it } from "vitest";
import { withDeadline } from "../../bench/support/deadline";

describe("a benchmark part's deadline", () => {
    it("fails a part that never finishes, naming it", async () => {
        await expect(withDeadline(new Promise<never>(() => undefined), 50, "the stuck part")).rejects.toThrow(
            "the stuck part did not finish within 0.05 s",
        );
    });

    it("passes a part's result and its error through, and leaves no timer behind", async () => {
        const timers = () => process.getActiveResourcesInfo().filter((kind) => kind === "Timeout").length;
        const before = timers();
        expect(await withDeadline(Promise.resolve(42), 60_000, "a part")).toBe(42);
        await expect(withDeadline(Promise.reject(new Error("broke")), 60_000, "a part")).rejects.toThrow("broke");
        expect(timers()).toBe(before);
    });
});
