// deallocatedByFile (engine/migrate/execute.ts) tells a file that deallocated the engine's prepared statements by the
// statement's name in the server's 26000 error, whatever lc_messages makes of the words and quotes around it.
import { describe, expect, it } from "vitest";
import { deallocatedByFile } from "../../engine/migrate/execute";

const sqlError = (code: string, message: string) => Object.assign(new Error(message), { code });

describe("deallocatedByFile", () => {
    it.each([
        ['prepared statement "memory_stack_snapshot_c1_0a1b2c3d4e5f" does not exist'],
        ["vorbereitete Anweisung »memory_stack_snapshot_c1_0a1b2c3d4e5f« existiert nicht"],
    ])("names the file for %s", (message) => {
        const refusal = deallocatedByFile(sqlError("26000", message), "0099_app.sql", "Nothing was applied.");
        expect(refusal?.message).toMatch(/^0099_app.sql deallocated the prepared statements memory-stack keeps/);
    });

    it("leaves a file's own missing statement, and other errors, as they are", () => {
        expect(deallocatedByFile(sqlError("26000", 'prepared statement "mine" does not exist'), "f.sql", "")).toBeUndefined();
        expect(
            deallocatedByFile(sqlError("26000", 'prepared statement "app_memory_stack_cache" does not exist'), "f.sql", ""),
        ).toBeUndefined();
        expect(deallocatedByFile(sqlError("42P01", 'relation "memory_stack_x" does not exist'), "f.sql", "")).toBeUndefined();
    });
});
