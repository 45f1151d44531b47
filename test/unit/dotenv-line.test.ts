// dotenvLine: plain values stay as they are (docker run --env-file reads quotes as part of the value); a value a shell
// would split or run in the background is single-quoted; a value no quoting keeps whole is refused, naming its key.
import { describe, expect, it } from "vitest";
import { dotenvLine } from "../../engine/render/dotenv";

describe("a dotenv line", () => {
    it("leaves a connection string with one query parameter plain", () => {
        expect(dotenvLine("DATABASE_URL", "postgresql://postgres:p%40ss@localhost:5432/ybryx?sslmode=disable")).toBe(
            "DATABASE_URL=postgresql://postgres:p%40ss@localhost:5432/ybryx?sslmode=disable",
        );
    });

    it("single-quotes one whose & a shell would take for the end of the assignment", () => {
        expect(dotenvLine("APP", "postgresql://u:p@h/db?sslmode=require&options=-c%20role%3Dx")).toBe(
            "APP='postgresql://u:p@h/db?sslmode=require&options=-c%20role%3Dx'",
        );
    });

    it("refuses a quote or a line break, naming the key", () => {
        expect(() => dotenvLine("APP", "a'b")).toThrow(/^APP: /);
        expect(() => dotenvLine("APP", "a\nB=c")).toThrow(/^APP: /);
    });
});
