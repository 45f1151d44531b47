// runFile (engine/migrate/execute.ts) sent with its transaction's begin in one round trip: when a statement
// of that begin fails before the file's savepoint is taken (a retry's first lock caught in a deadlock, say),
// the error reported is that statement's, not 'savepoint "memory_stack_file" does not exist'.
import { describe, expect, it } from "vitest";
import { FILE_SAVEPOINT, runFile } from "../../engine/migrate/execute";
import type { SqlClient } from "../../engine/db/client";

const sqlError = (code: string, message: string) => Object.assign(new Error(message), { code });

describe("runFile whose begin fails before the file's savepoint", () => {
    it("throws the begin's error", async () => {
        const sent: string[] = [];
        const client = {
            query: async (text: string) => {
                sent.push(text);
                if (text.startsWith("rollback to savepoint")) throw sqlError("3B001", 'savepoint "memory_stack_file" does not exist');
                throw sqlError("40P01", "deadlock detected");
            },
        } as unknown as SqlClient;
        const sql = "alter table public.notes add column a int;";
        const error = await runFile(client, "0001_notes.sql", sql, [{ text: sql, line: 1, offset: 0 }], "Nothing was applied.", {
            savepointTaken: true,
            first: `begin; do $$ begin lock table only public.notes in access exclusive mode; end $$; ${FILE_SAVEPOINT}`,
        }).catch((e: unknown) => e as Error & { code?: string });
        expect(error).toMatchObject({ code: "40P01", message: "deadlock detected" });
        expect(sent).toHaveLength(2);
    });
});
