// The catalog snapshot reads an application's objects whatever their oid. initdb's own objects sit below
// 16384 (FirstNormalObjectId) and a running server hands out oids from there up, but a stand-alone
// backend (`postgres --single`) run before the server's first start goes on from where initdb stopped,
// `create database` copies those oids from its template, and pg_upgrade keeps them. A snapshot that
// range-scanned `oid >= 16384` (fa23d04, reverted) missed such a users table: apply added the memory
// columns without recording them and rollback left them on the application's table. The server runs in
// binary-upgrade mode (-b) only to place a table (or a domain) at such an oid, as pg_upgrade would. Every read of
// an apply but the first uses the oid indexes from 16384 up, once that first one found nothing below it.
import { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { SqlClient } from "../../engine/db/client";
import { snapshot } from "../../engine/migrate/snapshot";
import { startEmbeddedPostgres, type RunningServer } from "../support/embedded-server";

describe("an application table whose oid is below 16384 (a stand-alone backend's, kept by pg_upgrade)", () => {
    let server: RunningServer;
    let client: Client;
    beforeAll(async () => {
        server = await startEmbeddedPostgres({ flags: ["-b"] });
        client = new Client({ host: server.host, port: server.port, user: server.user, password: server.password, database: "postgres" });
        await client.connect();
    }, 120_000);
    afterAll(async () => {
        await client?.end().catch(() => undefined);
        await server?.stop();
    });

    it("is in the snapshot with its columns and constraints", async () => {
        await client.query(
            `select binary_upgrade_set_next_heap_pg_class_oid(13900), binary_upgrade_set_next_heap_relfilenode(13900),
                    binary_upgrade_set_next_pg_type_oid(13901), binary_upgrade_set_next_array_pg_type_oid(13902)`,
        );
        await client.query("create table public.users (id int not null, email text, constraint users_email_check check (email <> ''))");
        expect((await client.query("select 'public.users'::regclass::oid::int as oid")).rows[0].oid).toBe(13900);

        const identities = [...(await snapshot(client as unknown as SqlClient)).keys()];
        expect(identities).toEqual(
            expect.arrayContaining([
                "table public.users",
                "column public.users.id",
                "column public.users.email",
                "constraint public.users.users_email_check",
            ]),
        );
    });

    it("a domain below 16384, with no relation there, is in the snapshot too", async () => {
        await client.query("create database low_domain");
        const other = new Client({
            host: server.host,
            port: server.port,
            user: server.user,
            password: server.password,
            database: "low_domain",
        });
        await other.connect();
        try {
            await other.query("select binary_upgrade_set_next_pg_type_oid(13950), binary_upgrade_set_next_array_pg_type_oid(13951)");
            await other.query("create domain public.positive as int check (value > 0)");

            expect([...(await snapshot(other as unknown as SqlClient)).keys()]).toContain("domain public.positive");
        } finally {
            await other.end();
        }
    });
});
