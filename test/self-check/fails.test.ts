// Fails on purpose: test/self-check/run.mjs proves that a failing test fails the test command.
// Outside the projects' include patterns, so `npm test` never runs it.
import { expect, it } from "vitest";
import { sharedServer } from "../support/database";

it("fails on purpose (self-check)", () => {
    expect(sharedServer().port).toBeGreaterThan(0); // the real global setup ran
    expect(1).toBe(2);
});
