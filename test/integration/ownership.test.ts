// Ownership recorded by the engine, with small migrations of the tests' own: every object a
// migration's transaction creates is recorded with that migration, in creation order, whatever its
// kind and even inside a subtransaction; nothing another session creates meanwhile is; a migration
// that drops what the stack did not create is refused; one that drops its own object forgets it.
import type { Client } from "pg";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { applyMigrations, ForeignObjectRemovedError, readLedger, readRecords } from "../../engine/migrate/index";
import { dropRoles, freshDatabase, type TestDatabase } from "../support/database";
import { migration } from "../support/migrations";
import { commitMeanwhile } from "../support/commit-meanwhile";
import { until } from "../support/poll";

let db: TestDatabase;
let client: Client;
const roles: string[] = [];

beforeEach(async () => {
    db = await freshDatabase("ownership");
    client = await db.connect();
});

afterEach(async () => {
    await db.drop();
    await dropRoles(db.server, roles.splice(0));
});

const records = async () => (await readRecords(client)).map((record) => `${record.migration} ${record.identity}`);

describe("recording what a migration creates", () => {
    it("records every kind with the migration that created it, in creation order, and nothing that was there before", async () => {
        await client.query("create table app_orders (id int primary key, total numeric)");
        const role = `${db.name}_reader`;
        roles.push(role);

        await applyMigrations(
            client,
            [
                migration(
                    "0001_things.sql",
                    `create schema things;
                     create type things.mood as enum ('calm', 'busy');
                     create domain things.score as numeric check (value between 0 and 1);
                     create sequence things.ticket;
                     create table things.notes (id int primary key, mood things.mood);
                     create index notes_mood on things.notes (mood);
                     create view things.calm_notes as select id from things.notes where mood = 'calm';
                     create function things.touch() returns trigger language plpgsql as $$ begin return new; end $$;
                     create trigger notes_touch before update on things.notes for each row execute function things.touch();
                     alter table things.notes enable row level security;
                     create policy notes_all on things.notes using (true);
                     create role ${role} nologin;`,
                ),
                migration(
                    "0002_app_orders.sql",
                    "alter table app_orders add column memo text; alter table app_orders add constraint app_orders_total_check check (total >= 0);",
                ),
            ],
            { variant: "jsonb" },
        );

        expect(await records()).toEqual([
            "0001_things.sql schema things",
            "0001_things.sql type things.mood",
            "0001_things.sql domain things.score",
            "0001_things.sql sequence things.ticket",
            "0001_things.sql table things.notes",
            "0001_things.sql index things.notes_pkey",
            "0001_things.sql index things.notes_mood",
            "0001_things.sql view things.calm_notes",
            "0001_things.sql function things.touch()",
            "0001_things.sql trigger things.notes.notes_touch",
            "0001_things.sql policy things.notes.notes_all",
            `0001_things.sql role ${role}`,
            "0002_app_orders.sql constraint public.app_orders.app_orders_total_check",
            "0002_app_orders.sql column public.app_orders.memo",
        ]);
    });

    it("records what a subtransaction of the migration created", async () => {
        await applyMigrations(
            client,
            [
                migration(
                    "0001_guarded.sql",
                    "do $$ begin begin create table guarded (id int); exception when duplicate_table then null; end; end $$;",
                ),
            ],
            { variant: "jsonb" },
        );
        expect(await records()).toEqual(["0001_guarded.sql table public.guarded"]);
    });

    it("does not record what another session creates and commits while the migration runs", async () => {
        const intruderRole = `${db.name}_intruder`;
        roles.push(intruderRole);
        const gate = await db.connect();
        await gate.query("select pg_advisory_lock(4242)");
        const observer = await db.connect();
        const applying = applyMigrations(
            await db.connect({ application_name: "ownership-apply" }),
            [
                migration(
                    "0001_slow.sql",
                    "create table mine (id int);\nselect pg_advisory_xact_lock(4242);\ncreate table mine_too (id int);",
                ),
            ],
            { variant: "jsonb", locks: { timeoutMs: 60_000 } },
        );
        await until("the migration to wait inside its transaction", async () => {
            const waiting = await observer.query(
                "select 1 from pg_stat_activity where application_name = 'ownership-apply' and wait_event_type = 'Lock'",
            );
            return waiting.rowCount ? true : undefined;
        });
        await observer.query(
            `create table intruder (id int); create index intruder_id on intruder (id); create role ${intruderRole} nologin`,
        );
        await gate.query("select pg_advisory_unlock(4242)");
        await applying;

        expect(await records()).toEqual(["0001_slow.sql table public.mine", "0001_slow.sql table public.mine_too"]);
    });
});

describe("a migration that drops an object", () => {
    it("is refused, rolled back and left out of the ledger when the object is not the stack's", async () => {
        await client.query("create table app_notes (id int); insert into app_notes values (1)");

        const error = await applyMigrations(client, [migration("0001_cleanup.sql", "create table ours (id int);\ndrop table app_notes;")], {
            variant: "jsonb",
        }).catch((e: unknown) => e);

        expect(error).toBeInstanceOf(ForeignObjectRemovedError);
        expect((error as Error).message).toContain("0001_cleanup.sql removed table public.app_notes, which the stack did not create");
        expect((await client.query("select count(*)::int as n from app_notes")).rows[0].n).toBe(1);
        expect((await client.query("select to_regclass('public.ours') as ours")).rows[0].ours).toBeNull();
        expect(await readLedger(client)).toEqual([]);
    });

    it("forgets its own object it replaced, and records the new one under the migration that made it", async () => {
        await applyMigrations(
            client,
            [
                migration("0001_f.sql", "create function f(x integer) returns integer language sql as 'select x';"),
                migration("0002_f.sql", "drop function f(integer);\ncreate function f(x text) returns text language sql as 'select x';"),
            ],
            { variant: "jsonb" },
        );
        expect(await records()).toEqual(["0002_f.sql function public.f(text)"]);
    });
});

describe("a role created by a migrating user who cannot read pg_authid", () => {
    // Without pg_authid's xmin the engine cannot tell its own new role from one another session committed meanwhile
    // (with nothing else committed it can: committed-since.test.ts).
    it("is recorded when another transaction committed meanwhile and a second session confirms it, and not recorded without one", async () => {
        const migrator = `${db.name}_migrator`;
        const made = [`${db.name}_made_a`, `${db.name}_made_b`];
        roles.push(...made, migrator);
        await client.query(`create role ${migrator} login password 'migrator-password' createrole; grant create on database "${db.name}" to ${migrator};
            grant create on schema public to ${migrator}`);
        const asMigrator = () => db.connect({ user: migrator, password: "migrator-password" });
        const own = await asMigrator();
        const meanwhile = await commitMeanwhile(db, 7201);
        const files = [
            migration("0001_role_a.sql", `${meanwhile.sql}create role ${made[0]} nologin;`),
            migration("0002_role_b.sql", `${meanwhile.sql}create role ${made[1]} nologin;`),
        ];

        await applyMigrations(own, files.slice(0, 1), { variant: "jsonb", connect: asMigrator });
        await meanwhile.committed;
        const again = await commitMeanwhile(db, 7201);
        await applyMigrations(own, files, { variant: "jsonb" });
        await again.committed;

        expect(await records()).toEqual([`0001_role_a.sql role ${made[0]}`]);
        await client.query(`drop owned by ${migrator}; drop role ${made[0]}; drop role ${made[1]}`);
    });
});
