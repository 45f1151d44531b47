// BUG on 0b697ca: an application's trigger on its users whose plpgsql function reads a memory column (an audit of
// memory opt-outs: `if new.memory_enabled is distinct from old.memory_enabled …`). pg_depend does not see into a
// function's body, so the rollback dropped the column without a word, and every later update of users failed with
// `record "new" has no field "memory_enabled"`. The rollback now stops on it, naming the trigger, its function and
// the column, and drops nothing; a trigger on users whose function names no memory column is not in the way.
import { expect, it } from "vitest";
import { cli } from "../support/cli";
import { cliDatabases } from "../support/cli-database";

const cliDatabase = cliDatabases();

it("a rollback stops on an application's trigger on users whose function reads a memory column", async () => {
    const { client, roleFlags: names, env } = await cliDatabase("a28_users_trigger");
    await client.query("create table public.users (id uuid primary key default gen_random_uuid(), email text)");
    const apply = await cli(["apply", ...names], env);
    expect(apply.code, apply.stderr).toBe(0);
    await client.query(`create table public.optouts (user_id uuid, at timestamptz default now());
        -- Named only in mixed case: PostgreSQL folds it, so must the check.
        create function public.track_optout() returns trigger language plpgsql as $$
        begin
            if NEW.Memory_Enabled is distinct from OLD.Memory_Enabled and not NEW.Memory_Enabled then
                insert into public.optouts (user_id) values (new.id);
            end if;
            return new;
        end $$;
        create trigger track_optout after update on public.users for each row execute function public.track_optout();
        create function public.lower_email() returns trigger language plpgsql as $$ begin new.email = lower(new.email); return new; end $$;
        create trigger lower_email before update on public.users for each row execute function public.lower_email();
        insert into public.users (email) values ('A@example.com')`);

    const refused = await cli(["rollback"], env);

    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(
        "- trigger track_optout on public.users (on column memory_enabled of table public.users): change public.track_optout() so that its body no longer names them",
    );
    expect(refused.stderr).not.toContain("lower_email");
    await client.query("update public.users set memory_enabled = false");
    expect((await client.query("select count(*)::int as n from public.optouts")).rows[0].n).toBe(1);

    await client.query("update public.users set memory_enabled = true; drop trigger track_optout on public.users");
    const rollback = await cli(["rollback"], env);

    expect(rollback.code, rollback.stderr).toBe(0);
    await client.query("update public.users set email = 'B@example.com'");
});
