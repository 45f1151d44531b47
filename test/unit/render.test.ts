import { describe, expect, it } from "vitest";
import {
    loadMigrationSources,
    renderMigrations,
    loadRollbackSql,
    schemaChecksum,
    type MigrationSource,
    type SchemaOptions,
} from "../../engine/migrate/render";

const base: SchemaOptions = {
    vector: false,
    vectorDimensions: 1536,
    vectorIndex: "hnsw",
    rls: true,
    appRole: "memory_app",
    adminRole: "memory_admin",
};
const src = (name: string, text: string): MigrationSource => ({ name, text });
const names = (options: Partial<SchemaOptions>) => renderMigrations(loadMigrationSources(), { ...base, ...options }).map((m) => m.name);

describe("loading the sql directory", () => {
    it("reads the numbered migrations in order and leaves rollback.sql out", () => {
        const sources = loadMigrationSources();
        expect(sources.map((s) => s.name)).toEqual([...sources.map((s) => s.name)].sort());
        expect(sources.map((s) => s.name)).not.toContain("rollback.sql");
        expect(sources[0].name).toBe("0001_foundation.sql");
    });
});

describe("rendering placeholders", () => {
    it("renders role placeholders as quoted identifiers and quoted string literals", () => {
        const [m] = renderMigrations(
            [
                src(
                    "0001_a.sql",
                    "-- requires: rls\ngrant x to {{app_role}}, {{admin_role}}; select {{app_role_name}}, {{admin_role_name}};",
                ),
            ],
            { ...base, appRole: `we"ird'role`, adminRole: "Admin" },
        );
        expect(m.sql).toBe(`-- requires: rls\ngrant x to "we""ird'role", "Admin"; select 'we"ird''role', 'Admin';`);
    });

    it("renders vector dimensions and index method in vector files", () => {
        const [m] = renderMigrations([src("0001_v.sql", "-- requires: vector\nvector({{vector_dimensions}}) using {{ vector_index }}")], {
            ...base,
            vector: true,
            vectorDimensions: 768,
            vectorIndex: "ivfflat",
        });
        expect(m.sql).toBe("-- requires: vector\nvector(768) using ivfflat");
    });

    it("refuses an unknown placeholder, naming the file and the placeholder", () => {
        expect(() => renderMigrations([src("0003_x.sql", "select {{app_rol}}")], base)).toThrow(
            /0003_x\.sql: unknown placeholder \{\{app_rol\}\}/,
        );
    });

    it("refuses vector placeholders in a file that does not require vector, so shared files never vary", () => {
        expect(() => renderMigrations([src("0004_y.sql", "vector({{vector_dimensions}})")], { ...base, vector: true })).toThrow(
            /0004_y\.sql: \{\{vector_dimensions\}\} may only appear/,
        );
    });

    it("refuses options that would render unsafe or invalid SQL", () => {
        const one = [src("0001_a.sql", "select 1")];
        expect(() => renderMigrations(one, { ...base, vectorIndex: "btree" as "hnsw" })).toThrow(
            /vectorIndex "btree" must be hnsw or ivfflat/,
        );
        expect(() => renderMigrations(one, { ...base, vectorDimensions: 0 })).toThrow(/vectorDimensions 0/);
        expect(() => renderMigrations(one, { ...base, vectorDimensions: 1.5 })).toThrow(/vectorDimensions 1.5/);
        expect(() => renderMigrations(one, { ...base, appRole: "a$$b" })).toThrow(/appRole "a\$\$b"/);
        expect(() => renderMigrations(one, { ...base, adminRole: "" })).toThrow(/adminRole ""/);
        expect(() => renderMigrations(one, { ...base, adminRole: "memory_app" })).toThrow(/must differ from appRole/);
    });

    it("refuses badly named or duplicate-numbered files and unknown requirements", () => {
        expect(() => renderMigrations([src("1_a.sql", "")], base)).toThrow(/"1_a\.sql" must look like NNNN_topic\.sql/);
        expect(() => renderMigrations([src("0001_a.sql", ""), src("0001_b.sql", "")], base)).toThrow(/share the number 0001/);
        expect(() => renderMigrations([src("0001_a.sql", "-- requires: pgcron\n")], base)).toThrow(
            /0001_a\.sql: unknown requirement "pgcron"/,
        );
    });
});

describe("choosing files by variant", () => {
    it("renders vector files only when vector is on and rls files only when rls is on", () => {
        expect(names({ vector: false, rls: false })).not.toContain("0010_vector.sql");
        expect(names({ vector: false, rls: false })).not.toContain("0009_rls.sql");
        expect(names({ vector: true, rls: true })).toEqual(expect.arrayContaining(["0009_rls.sql", "0010_vector.sql"]));
    });

    it("reads requirements only from the header comment", () => {
        const files = [
            src("0001_a.sql", "-- intent\n-- requires: vector\nselect 1;"),
            src("0002_b.sql", "-- intent\nselect 1;\n-- requires: vector\n"),
        ];
        expect(renderMigrations(files, base).map((m) => m.name)).toEqual(["0002_b.sql"]);
    });

    it("renders every shared file to the same text and checksum in both variants, so switching to vector only adds files", () => {
        const jsonb = renderMigrations(loadMigrationSources(), { ...base, vector: false });
        const vector = renderMigrations(loadMigrationSources(), { ...base, vector: true, vectorDimensions: 768, vectorIndex: "ivfflat" });
        const added = vector.filter((m) => !jsonb.some((j) => j.name === m.name));
        // 0010_vector is retired (rendered only so that ledgers listing it still verify); the switch is 0015 + 0016, then 0017.
        expect(added.map((m) => m.name)).toEqual([
            "0010_vector.sql",
            "0015_vector_expand.sql",
            "0016_vector_contract.sql",
            "0017_similarity_vector.sql",
        ]);
        expect(vector.filter((m) => !added.includes(m))).toEqual(jsonb);
    });

    it("gives each migration the sha256 of its rendered sql and the set one checksum that follows any change", () => {
        const migrations = renderMigrations(loadMigrationSources(), base);
        for (const m of migrations) expect(m.checksum).toMatch(/^[0-9a-f]{64}$/);
        expect(new Set(migrations.map((m) => m.checksum)).size).toBe(migrations.length);
        const sum = schemaChecksum(migrations);
        expect(schemaChecksum(renderMigrations(loadMigrationSources(), base))).toBe(sum);
        expect(schemaChecksum(migrations.slice(0, -1))).not.toBe(sum);
        expect(schemaChecksum(renderMigrations(loadMigrationSources(), { ...base, appRole: "other_app" }))).not.toBe(sum);
    });

    it("leaves no placeholder unrendered in any variant", () => {
        for (const vector of [false, true]) {
            for (const m of renderMigrations(loadMigrationSources(), { ...base, vector })) expect(m.sql).not.toMatch(/\{\{|\}\}/);
        }
    });

    it("writes SQL in lowercase with a header comment in every file", () => {
        for (const s of loadMigrationSources()) {
            expect(s.text.startsWith(`-- ${s.name.replace(/\.sql$/, "")}:`)).toBe(true);
            expect(s.text).not.toMatch(/\b(CREATE|TABLE|SELECT|ALTER|INSERT|BEGIN|END)\b/);
        }
    });
});

describe("the rollback script", () => {
    it("is the same for every variant and names no object: it drops what memory_stack.created_objects records", () => {
        const sql = loadRollbackSql();
        expect(sql).not.toMatch(/\{\{/);
        expect(sql).toContain("from memory_stack.created_objects");
        for (const name of ["sessions", "audit_logs", "users", "match_goals", "uuid-ossp"]) {
            expect(sql).not.toContain(name);
        }
    });
});
