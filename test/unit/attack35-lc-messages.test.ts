// BUG on 6b0c820: three matchers read the server's English text. With lc_messages in another language (alter database …
// set lc_messages = 'de_DE.UTF-8'; Debian's postgresql-15 ships the translations) a parallel index build that could not get
// its shared memory was not retried serially, a file that deallocated the engine's prepared statements from a DO block was
// not named, and the CLI printed every "…, wird übersprungen" of idempotent DDL. The messages are PostgreSQL 15's German ones.
import { describe, expect, it } from "vitest";
import { deallocatedByFile, SqlFileError } from "../../engine/migrate/execute";
import { isSharedMemoryShortage } from "../../engine/migrate/index-build";
import { passNotices } from "../../cli/progress";

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

    it("the '…, skipping' of idempotent DDL is not printed, as the server words it in German", () => {
        const lines: string[] = [];
        let listener: (notice: { message?: string; code?: string; routine?: string }) => void = () => undefined;
        passNotices({ on: ((_: string, l: typeof listener) => (listener = l)) as never }, (line) => lines.push(line));
        listener({ message: "Erweiterung »uuid-ossp« existiert bereits, wird übersprungen", code: "42710", routine: "CreateExtension" });
        listener({ message: "Relation »sessions« existiert bereits, wird übersprungen", code: "42P07", routine: "transformCreateStmt" });
        listener({
            message: "Trigger »t« für Relation »public.sessions« existiert nicht, wird übersprungen",
            code: "00000",
            routine: "does_not_exist_skipping",
        });
        listener({ message: "Tabelle »nope« existiert nicht, wird übersprungen", code: "00000", routine: "DropErrorMsgNonExistent" });
        listener({
            message: "Spalte »nope« von Relation »sessions« existiert nicht, wird übersprungen",
            code: "00000",
            routine: "ATExecDropColumn",
        });
        listener({ message: "0015: 3 Zeilen übersprungen", code: "00000", routine: "exec_stmt_raise" });
        expect(lines).toEqual(["  notice from the server: 0015: 3 Zeilen übersprungen"]);
    });
});
