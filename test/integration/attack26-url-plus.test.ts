// libpq reads a + in a URL's query value as a +: `?password=pass+word` is the password pass+word to psql. The URL
// parser pg-connection-string reads query values with URLSearchParams, where + is a space, so memory-stack (the CLI,
// an external server's databaseUrl and every string the stack exports from it) used "pass word": refused with
// 28P01 where psql logs in. The same for an sslrootcert path with a + in it. Real PostgreSQL 15 and psql.
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { Client, escapeLiteral } from "pg";
import { parseConfig } from "../../engine/config/config";
import { connectionUrl, parseConnectionUrl } from "../../engine/db/url";
import { dropRoles, sharedServer, withClient } from "../support/database";
import { loginAs } from "../support/login";

const server = sharedServer();
const ROLE = `attack26_plus_${randomBytes(4).toString("hex")}`;
const PASSWORD = "pass+word+1234";
const URL_WITH_PLUS = `postgresql://${ROLE}@${server.host}:${server.port}/postgres?password=${PASSWORD}`;

afterAll(async () => {
    await dropRoles(server, [ROLE]);
});

describe("a + in a URL's query value", () => {
    it("is a + to psql and to memory-stack alike: the same password logs in both ways", async () => {
        await withClient({ ...server, database: "postgres" }, (client: Client) =>
            client.query(`create role ${ROLE} login password ${escapeLiteral(PASSWORD)}`),
        );
        const psql = spawnSync("psql", ["-X", "-tA", "-c", "select current_user", URL_WITH_PLUS], { encoding: "utf8", timeout: 30_000 });
        expect(psql.stdout.trim()).toBe(ROLE);

        const settings = parseConnectionUrl(URL_WITH_PLUS);

        expect(settings.password).toBe(PASSWORD);
        expect(await loginAs(settings)).toBe(ROLE);
    });

    it("keeps its + in an external server's databaseUrl, so the strings the stack exports carry the same password", () => {
        const config = parseConfig({ provisioner: "external", databaseUrl: `${URL_WITH_PLUS}&sslmode=disable` });

        expect(config.password).toBe(PASSWORD);
        expect(parseConnectionUrl(connectionUrl({ ...parseConnectionUrl(config.databaseUrl!) })).password).toBe(PASSWORD);
    });

    it("keeps its + in an sslrootcert path", () => {
        const ca = join(mkdtempSync(join(tmpdir(), "attack26-plus-")), "ca+1.crt");
        writeFileSync(ca, "not read here\n");

        const settings = parseConnectionUrl(`postgresql://u:p@db.example.com/db?sslmode=verify-full&sslrootcert=${ca}`);

        expect(settings.sslRootCert).toBe(ca);
    });
});
