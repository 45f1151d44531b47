// BUG on 6b0c820: two of the engine's matchers read the server's English text. With lc_messages in another language
// (alter database … set lc_messages = 'de_DE.UTF-8'; Debian's postgresql-15 ships the translations) a parallel index build
// that could not get its shared memory was not retried serially, and a file that deallocated the engine's prepared
// statements from a DO block was not named. The messages below are PostgreSQL 15's German ones.
import { describe, expect, it } from "vitest";
import { deallocatedByFile, SqlFileError } from "../../engine/migrate/execute";
import { isSharedMemoryShortage } from "../../engine/migrate/index-build";

describe("the server's errors in German", () => {
    it("a parallel build short of shared memory is recognised by the server's source file", () => {
        const german = {
            code: "53100",
            message:
                "konnte Größe des Shared-Memory-Segments »/PostgreSQL.1« nicht auf 67108864 Bytes ändern: Auf dem Gerät ist kein Speicherplatz mehr verfügbar",
            file: "dsm_impl.c",
        };
        // as the step runner gets it: the statement's error, the server's as its cause
        const failed = (cause: object) =>
            new SqlFileError("0016_vector_contract.sql", 40, "create index concurrently …", "53100", cause, "");
        expect(isSharedMemoryShortage(failed(german))).toBe(true);
        expect(isSharedMemoryShortage(german)).toBe(true);
        expect(isSharedMemoryShortage(failed({ ...german, file: "md.c", message: "konnte Datei nicht erweitern" }))).toBe(false);
    });

    it("a deallocated statement of the engine's names the file, in the server's quotes", () => {
        const error = Object.assign(new Error("vorbereitete Anweisung »memory_stack_snapshot_1« existiert nicht"), { code: "26000" });
        expect(deallocatedByFile(error, "0099_app.sql", "Nothing of it applied.")?.message).toContain(
            "0099_app.sql deallocated the prepared statements",
        );
        const other = Object.assign(new Error("vorbereitete Anweisung »app_plan« existiert nicht"), { code: "26000" });
        expect(deallocatedByFile(other, "0099_app.sql", "Nothing of it applied.")).toBeUndefined();
    });
});
