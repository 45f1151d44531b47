import { describe, expect, it } from "vitest";
import { OptionsConflictError, resolveSchemaOptions } from "../../../engine/migrate/options";
import { DEFAULT_SCHEMA_OPTIONS, type SchemaOptions } from "../../../engine/migrate/render";

const vectorDb: Partial<SchemaOptions> = {
    vector: true,
    vectorDimensions: 768,
    vectorIndex: "ivfflat",
    rls: false,
    appRole: "a",
    adminRole: "b",
};
const jsonbDb: Partial<SchemaOptions> = { vector: false, rls: true, appRole: "a", adminRole: "b" };
const resolve = (requested: Partial<SchemaOptions>, recorded: Partial<SchemaOptions>, allowVectorSwitch = false) =>
    resolveSchemaOptions({ requested, recorded, defaults: DEFAULT_SCHEMA_OPTIONS, allowVectorSwitch, shownAs: (key) => `--${key}` });

describe("resolveSchemaOptions", () => {
    it("takes every option from the ledger when no flag is given", () => {
        expect(resolve({}, vectorDb)).toEqual(vectorDb);
    });

    it("uses the flags, then the defaults, on a database with no ledger", () => {
        expect(resolve({ rls: false }, {})).toEqual({ ...DEFAULT_SCHEMA_OPTIONS, rls: false });
    });

    it("accepts a flag that repeats the ledger", () => {
        expect(resolve({ vector: true, vectorDimensions: 768, rls: false }, vectorDb)).toEqual(vectorDb);
    });

    it("refuses a flag that contradicts the ledger, naming the flag and both values", () => {
        const error = (() => {
            try {
                return resolve({ vectorDimensions: 1536 }, vectorDb, true);
            } catch (e) {
                return e;
            }
        })() as OptionsConflictError;
        expect(error).toBeInstanceOf(OptionsConflictError);
        expect(error.message).toMatch(
            /^--vectorDimensions asks for vectorDimensions 1536, but the database's ledger records vectorDimensions 768; nothing was done\./,
        );
        expect(() => resolve({ rls: true }, vectorDb)).toThrow("--rls asks for rls true, but the database's ledger records rls false");
        expect(() => resolve({ appRole: "c" }, jsonbDb)).toThrow(`--appRole asks for appRole "c"`);
        expect(() => resolve({ vector: false }, vectorDb, true)).toThrow("Turning vector off on a live stack is not supported");
    });

    it("switches a jsonb database to vector only where the switch is allowed, with the requested dimensions", () => {
        expect(resolve({ vector: true, vectorDimensions: 3 }, jsonbDb, true)).toEqual({
            ...DEFAULT_SCHEMA_OPTIONS,
            ...jsonbDb,
            vector: true,
            vectorDimensions: 3,
        });
        expect(() => resolve({ vector: true }, jsonbDb, false)).toThrow("Only apply (and plan) switch a jsonb database to vector");
    });

    it("lets dimensions and index flags pass on a jsonb database, where they shape nothing yet", () => {
        expect(resolve({ vectorDimensions: 3 }, jsonbDb)).toMatchObject({ vector: false, vectorDimensions: 3 });
    });
});
