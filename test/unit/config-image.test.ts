// Image references, as `pulumi preview` reads them from memory-stack:image: every case of issue 15
// and SPEC §3's list, each accepted or refused with the reason.
import { describe, expect, it } from "vitest";
import { parseConfig, type RawConfig } from "../../engine/config/config";
import { parseImageReference, postgresMajorFromTag } from "../../engine/config/image";
import { configErrorFor } from "../support/config-errors";

const SHA = "sha256:" + "0123456789abcdef".repeat(4);
// The case: a digest whose hex happens to end in "e15".
const SHA_E15 = "sha256:" + "0123456789abcdef".repeat(3) + "0123456789abce15";

const ACCEPTED: [string, RawConfig][] = [
    ["postgres:15", {}],
    ["postgres:15.6", {}],
    ["postgres:15-alpine", {}],
    ["postgres:15.6-alpine", {}],
    ["postgres:15.8-alpine3.20", {}],
    ["postgres:15-bookworm", {}],
    ["docker.io/library/postgres:15-alpine", {}],
    ["localhost:5000/postgres:15", {}],
    ["registry.example.com:8443/mirror/postgres:15.6-alpine", {}],
    ["pgvector/pgvector:pg15", { vector: "true" }],
    ["pgvector/pgvector:0.8.0-pg15", { vector: "true" }],
    ["pgvector/pgvector:0.8.0-pg15-bookworm", { vector: "true" }],
    [`pgvector/pgvector:pg15@${SHA}`, { vector: "true" }],
    [`postgres:15-alpine@${SHA}`, {}],
    [`postgres@${SHA}`, { imageMajorVersion: "15" }],
    [`pgvector/pgvector@${SHA}`, { vector: "true", imageMajorVersion: "15" }],
    ["postgres:15-alpine", { imageMajorVersion: "15" }],
];

const REFUSED: [string, RawConfig, string, RegExp][] = [
    ["postgres:14.15", {}, "image", /runs PostgreSQL 14 \(its tag is "14\.15"\); memory-stack needs PostgreSQL 15/],
    ["postgres:14.15-alpine", {}, "image", /runs PostgreSQL 14 /],
    ["postgres:13.15-bookworm", {}, "image", /runs PostgreSQL 13 /],
    ["postgres:16", {}, "image", /runs PostgreSQL 16 /],
    ["postgres:150", {}, "image", /runs PostgreSQL 150 /],
    ["pgvector/pgvector:pg16", { vector: "true" }, "image", /runs PostgreSQL 16 /],
    // pgvector's own version must not pass for PostgreSQL's.
    ["pgvector/pgvector:0.15.0-pg14", { vector: "true" }, "image", /runs PostgreSQL 14 /],
    ["postgres", {}, "image", /has no tag, which means :latest/],
    ["pgvector/pgvector", { vector: "true" }, "image", /has no tag/],
    ["postgres:latest", {}, "image", /the tag "latest", which names no PostgreSQL major version/],
    ["postgres:alpine", {}, "image", /the tag "alpine", which names no PostgreSQL major version/],
    [`postgres@${SHA_E15}`, {}, "image", /pinned by digest alone, so nothing says it runs PostgreSQL 15.*imageMajorVersion 15/],
    [`postgres:14@${SHA}`, { imageMajorVersion: "15" }, "image", /runs PostgreSQL 14 /],
    [`postgres@${SHA}`, { imageMajorVersion: "16" }, "imageMajorVersion", /runs on PostgreSQL 15 only/],
    ["postgres@sha256:e15", { imageMajorVersion: "15" }, "image", /malformed digest "sha256:e15"/],
    ["postgres:15@md5:0123", {}, "image", /malformed digest/],
    ["Postgres:15", {}, "image", /"Postgres" in its repository name, which must be lowercase/],
    ["postgres::15", {}, "image", /malformed tag ":15"/],
    ["postgres:15 ", {}, "image", /whitespace or a control character/],
    ["postgres:15\n", {}, "image", /whitespace or a control character/],
    ["", {}, "image", /is empty/],
    ["postgres:15@sha256:x@y", {}, "image", /more than one @/],
    ["bad_host:99999/postgres:15", {}, "image", /malformed registry "bad_host:99999"/],
    ["postgres:15-alpine", { vector: "true" }, "image", /has no pgvector, which vector: true needs/],
];

describe("memory-stack:image", () => {
    it("covers at least twenty references", () => {
        expect(ACCEPTED.length + REFUSED.length).toBeGreaterThanOrEqual(20);
    });

    it.each(ACCEPTED)("accepts %s (%j)", (image, raw) => {
        expect(parseConfig({ ...raw, image }).image).toBe(image);
    });

    it.each(REFUSED)("refuses %j (%j) on %s: %s", (image, raw, key, reason) => {
        const error = configErrorFor({ ...raw, image });
        expect(error.key).toBe(key);
        expect(error.message).toMatch(reason);
    });

    it("needs PostgreSQL 15 in the reason of every version refusal, as the old messages said", () => {
        expect(configErrorFor({ image: "postgres:16-alpine" }).message).toMatch(/PostgreSQL 15/);
        expect(configErrorFor({ image: "postgres" }).message).toMatch(/PostgreSQL 15/);
    });

    it("refuses imageMajorVersion for an external server, which brings its own", () => {
        const error = configErrorFor({
            provisioner: "external",
            databaseUrl: "postgresql://u:p@db.example.com/app",
            imageMajorVersion: "15",
        });
        expect(error.key).toBe("imageMajorVersion");
    });

    it("does not hang on a long invalid name (no backtracking blow-up)", () => {
        const started = performance.now();
        expect(() => parseImageReference(`${"a".repeat(5000)}!:15`)).toThrow();
        expect(() => parseImageReference(`${"a-".repeat(120)}!`)).toThrow();
        // Generous: linear parsing takes well under a millisecond; the npm port this replaces took minutes.
        expect(performance.now() - started).toBeLessThan(1000);
    });
});

describe("parseImageReference", () => {
    it.each([
        ["postgres:15-alpine", { registry: undefined, repository: "postgres", tag: "15-alpine", digest: undefined }],
        ["localhost:5000/postgres:15", { registry: "localhost:5000", repository: "postgres", tag: "15", digest: undefined }],
        [`ghcr.io/acme/pg/postgres@${SHA}`, { registry: "ghcr.io", repository: "acme/pg/postgres", tag: undefined, digest: SHA }],
        [`pgvector/pgvector:pg15@${SHA}`, { registry: undefined, repository: "pgvector/pgvector", tag: "pg15", digest: SHA }],
        ["[::1]:5000/postgres:15", { registry: "[::1]:5000", repository: "postgres", tag: "15", digest: undefined }],
    ])("splits %s into registry, repository, tag and digest", (text, parts) => {
        expect(parseImageReference(text)).toEqual(parts);
    });

    it.each([
        ["15", 15],
        ["15.6-alpine3.19", 15],
        ["pg15", 15],
        ["0.8.0-pg15-bookworm", 15],
        ["2.14.2-pg15", 15],
        ["14.15", 14],
        ["latest", undefined],
        ["15rc1", undefined],
    ])("reads the PostgreSQL major version of the tag %s as %s", (tag, major) => {
        expect(postgresMajorFromTag(tag)).toBe(major);
    });
});
