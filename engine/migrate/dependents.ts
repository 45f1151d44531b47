// What the rollback would take with it. PostgreSQL drops, without CASCADE, whatever depends on an
// object only automatically: ALTER TABLE … DROP COLUMN takes the application's indexes, check
// constraints, statistics and generated columns on that column; DROP TABLE takes every index,
// trigger, policy, rule and publication entry on the table. What depends on it normally (a view, a
// foreign key, a column default) makes the drop fail instead. Both are found here, from pg_depend,
// before anything is dropped: every object the stack did not record that depends on one it will drop
// stops the rollback, named with a way to remove it.
//
// Parts of what is dropped are not in the way: the internal ones (a table's row type, a constraint's
// index), the column defaults and constraints of the recorded tables (constraints written inside
// `create table` are part of the table's definition, so they are not recorded one by one), and a
// recorded view's own rule. A recorded function is checked too: a column default, a policy, a trigger
// or a view of the application calling it would keep it, and a rollback that forgot the stack created
// it would leave the next apply refusing it as the application's. Extensions, schemas and roles are
// not checked: they are shared by design (an application's uuid_generate_v4() default, a role's grants
// in another database), so rollback.sql keeps those when something depends on them, and their records
// with them.
import type { SqlClient } from "../db/client";
import type { RecordedObject } from "./ownership";

export interface Dependent {
    /** "index app_users_prefs", "constraint app_chk on table users", "view app_activity". */
    object: string;
    /** What of the stack's it depends on: "column memory_preferences of table users". */
    on: string;
    /** A statement that removes it, when there is a simple one. */
    fix: string | null;
}

export class DependentObjectsRefusedError extends Error {
    constructor(readonly dependents: Dependent[]) {
        const n = dependents.length;
        super(
            `refusing to roll back the memory schema: ${n} object${n === 1 ? "" : "s"} the stack did not create depend${n === 1 ? "s" : ""} on what it would drop, ` +
                "and PostgreSQL would drop them with it (or refuse to drop it). Nothing was dropped.\n" +
                dependents
                    .map((dependent) => `- ${dependent.object} (on ${dependent.on})${dependent.fix ? `: ${dependent.fix}` : ""}`)
                    .join("\n") +
                "\nTo proceed, drop or change each of them (the statement after each is one way; re-create what you need after the rollback, " +
                "without the memory schema's objects), or keep the memory schema by not rolling back.",
        );
        this.name = "DependentObjectsRefusedError";
    }
}

// The recorded objects rollback.sql drops, as pg_depend addresses; objsubid 0 is the whole object.
const TARGETS = `
    select a.classid, a.objid, a.objsubid
      from unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[]) as r(kind, schema, name, parent, arguments)
      cross join lateral (select case when r.parent is not null then to_regclass(format('%I.%I', r.schema, r.parent)) end as parent_oid) p
      cross join lateral (
        select 'pg_class'::regclass::oid as classid, to_regclass(format('%I.%I', r.schema, r.name))::oid as objid, 0 as objsubid
         where r.kind in ('table', 'view', 'materialized view', 'index', 'sequence', 'foreign table')
        union all
        select 'pg_class'::regclass, p.parent_oid, x.attnum from pg_attribute x
         where r.kind = 'column' and x.attrelid = p.parent_oid and x.attname = r.name and not x.attisdropped
        union all
        select 'pg_constraint'::regclass, k.oid, 0 from pg_constraint k where r.kind = 'constraint' and k.conrelid = p.parent_oid and k.conname = r.name
        union all
        select 'pg_trigger'::regclass, g.oid, 0 from pg_trigger g where r.kind = 'trigger' and g.tgrelid = p.parent_oid and g.tgname = r.name
        union all
        select 'pg_policy'::regclass, o.oid, 0 from pg_policy o where r.kind = 'policy' and o.polrelid = p.parent_oid and o.polname = r.name
        union all
        select 'pg_type'::regclass, to_regtype(format('%I.%I', r.schema, r.name))::oid, 0 where r.kind in ('type', 'domain')
        union all
        select 'pg_proc'::regclass, to_regprocedure(format('%I.%I(%s)', r.schema, r.name, r.arguments))::oid, 0 where r.kind = 'function'
      ) a
     where a.objid is not null`;

const MATCHES = (member: string) =>
    `d.refclassid = ${member}.classid and d.refobjid = ${member}.objid and (${member}.objsubid = 0 or d.refobjsubid = ${member}.objsubid)`;

const QUALIFIED = (relation: string) =>
    `(select format('%I.%I', n.nspname, c.relname) from pg_class c join pg_namespace n on n.oid = c.relnamespace where c.oid = ${relation})`;

// A trigger of the application's on a table that stays (users) whose function's body names a column the rollback drops:
// pg_depend does not see into a function's body, so the drop goes through and every write that fires the trigger then
// fails ("record "new" has no field "memory_enabled""). Read from the body's text, as a whole word in any case: a comment
// naming the column stops the rollback too, which says what to change.
const BODY_READERS = `
select format('trigger %I on %s', g.tgname, ${QUALIFIED("g.tgrelid")}) as object,
       string_agg(distinct pg_describe_object(t.classid, t.objid, t.objsubid), ', ') as on,
       format('change %s so that its body no longer names them (create or replace function), or drop trigger %I on %s',
              g.tgfoid::regprocedure, g.tgname, ${QUALIFIED("g.tgrelid")}) as fix
  from targets t
  join pg_attribute a on t.classid = 'pg_class'::regclass and t.objsubid > 0 and a.attrelid = t.objid and a.attnum = t.objsubid
  join pg_trigger g on g.tgrelid = t.objid and not g.tgisinternal
  join pg_proc p on p.oid = g.tgfoid
 where p.prosrc ~* ('[[:<:]]' || a.attname || '[[:>:]]')
   and not exists (select from targets x where x.classid = 'pg_trigger'::regclass and x.objid = g.oid)
   and not exists (select from targets x where x.classid = 'pg_class'::regclass and x.objid = t.objid and x.objsubid = 0)
 group by g.oid, g.tgname, g.tgrelid, g.tgfoid`;

// Everything that goes with the targets, then whatever else depends on them. A view's rule is named as
// its view.
const DEPENDENTS = `
with recursive targets as materialized (${TARGETS}),
-- parts of the targets that are not recorded one by one: column defaults, constraints, a view's rule, toast
parts as materialized (
    select 'pg_attrdef'::regclass::oid as classid, f.oid as objid, 0 as objsubid
      from pg_attrdef f join targets t on t.classid = 'pg_class'::regclass and t.objid = f.adrelid and (t.objsubid = 0 or t.objsubid = f.adnum)
    union all
    select 'pg_constraint'::regclass, k.oid, 0
      from pg_constraint k join targets t on t.objsubid = 0 and t.classid = 'pg_class'::regclass and t.objid = k.conrelid
    union all
    select 'pg_constraint'::regclass, k.oid, 0
      from pg_constraint k join targets t on t.classid = 'pg_type'::regclass and t.objid = k.contypid
    union all
    select 'pg_rewrite'::regclass, w.oid, 0
      from pg_rewrite w join targets t on t.classid = 'pg_class'::regclass and t.objid = w.ev_class and t.objsubid = 0 and w.rulename = '_RETURN'
    union all
    select 'pg_class'::regclass, x.indexrelid, 0
      from targets t join pg_class c on t.classid = 'pg_class'::regclass and t.objsubid = 0 and c.oid = t.objid
      join pg_index x on x.indrelid = c.reltoastrelid
),
members(classid, objid, objsubid) as (
    select classid, objid, objsubid from targets
    union
    select classid, objid, objsubid from parts
    union
    select d.classid, d.objid, d.objsubid
      from members m join pg_depend d on ${MATCHES("m")}
     where d.deptype = 'i'
),
found as (
    select distinct
           coalesce(v.classid, d.classid) as classid, coalesce(v.objid, d.objid) as objid, coalesce(v.objsubid, d.objsubid) as objsubid,
           d.refclassid, d.refobjid, d.refobjsubid
      from members m join pg_depend d on ${MATCHES("m")}
      left join lateral (select 'pg_class'::regclass::oid as classid, w.ev_class as objid, 0 as objsubid from pg_rewrite w
                          where d.classid = 'pg_rewrite'::regclass and w.oid = d.objid and w.rulename = '_RETURN') v on true
     where d.deptype not in ('i', 'e', 'x')
       and not exists (select from members o where o.classid = d.classid and o.objid = d.objid and (o.objsubid = 0 or o.objsubid = d.objsubid))
),
-- what each depends on, per object: "column memory_preferences of table users", "columns a, b of view v", "table audit_logs"
refs as (
    select f.classid, f.objid, f.objsubid,
           case when bool_or(f.refobjsubid = 0) or f.refclassid <> 'pg_class'::regclass then pg_describe_object(f.refclassid, f.refobjid, 0)
                when count(*) = 1 then pg_describe_object(f.refclassid, f.refobjid, min(f.refobjsubid))
                else 'columns ' || string_agg(a.attname, ', ' order by a.attnum) || ' of ' || pg_describe_object(f.refclassid, f.refobjid, 0)
           end as on
      from found f left join pg_attribute a on f.refclassid = 'pg_class'::regclass and a.attrelid = f.refobjid and a.attnum = f.refobjsubid
     group by f.classid, f.objid, f.objsubid, f.refclassid, f.refobjid
)
select coalesce(g.object, pg_describe_object(r.classid, r.objid, r.objsubid)) as object, string_agg(r.on, ', ' order by r.on) as on,
       coalesce(g.fix, (select case i.type
                 when 'index' then 'drop index ' || i.identity
                 when 'view' then 'drop view ' || i.identity
                 when 'materialized view' then 'drop materialized view ' || i.identity
                 when 'statistics object' then 'drop statistics ' || i.identity
                 when 'trigger' then 'drop trigger ' || i.identity
                 when 'policy' then 'drop policy ' || i.identity
                 when 'rule' then 'drop rule ' || i.identity
                 when 'function' then 'drop function ' || i.identity
                 when 'sequence' then 'alter sequence ' || i.identity || ' owned by none'
                 when 'table' then (select string_agg(format('alter table %s no inherit %s', ${QUALIFIED("h.inhrelid")}, ${QUALIFIED("h.inhparent")}), '; ')
                                      from pg_inherits h where h.inhrelid = r.objid
                                       and exists (select from members m where m.classid = 'pg_class'::regclass and m.objid = h.inhparent))
                 when 'table constraint' then (select format('alter table %s drop constraint %I', ${QUALIFIED("k.conrelid")}, k.conname)
                                                 from pg_constraint k where k.oid = r.objid)
                 when 'table column' then (select format('alter table %s drop column %I', ${QUALIFIED("a.attrelid")}, a.attname)
                                             from pg_attribute a where a.attrelid = r.objid and a.attnum = r.objsubid)
                 when 'default value' then (select format('alter table %s alter column %I drop default', ${QUALIFIED("a.attrelid")}, a.attname)
                                              from pg_attrdef x join pg_attribute a on a.attrelid = x.adrelid and a.attnum = x.adnum where x.oid = r.objid)
                 when 'publication relation' then (select format('alter publication %I drop table %s', b.pubname, ${QUALIFIED("pr.prrelid")})
                                                     from pg_publication_rel pr join pg_publication b on b.oid = pr.prpubid where pr.oid = r.objid)
               end
          from pg_identify_object(r.classid, r.objid, r.objsubid) i)) as fix
  from refs r
  -- a generated column's expression is stored as its default; name it as what it is
  left join lateral (select 'generated ' || pg_describe_object('pg_class'::regclass, a.attrelid, a.attnum) as object,
                            format('alter table %s alter column %I drop expression', ${QUALIFIED("a.attrelid")}, a.attname) as fix
                       from pg_attrdef x join pg_attribute a on a.attrelid = x.adrelid and a.attnum = x.adnum
                      where r.classid = 'pg_attrdef'::regclass and x.oid = r.objid and a.attgenerated <> '') g on true
 group by r.classid, r.objid, r.objsubid, g.object, g.fix
union all
${BODY_READERS}
 order by 1`;

/** The objects the stack did not record that depend on what rolling back `records` drops; [] when nothing is in the way. */
export async function dependentObjects(client: SqlClient, records: RecordedObject[]): Promise<Dependent[]> {
    const checked = records.filter((record) => !["schema", "extension", "role"].includes(record.kind));
    if (checked.length === 0) {
        return [];
    }
    const result = await client.query<Dependent>(DEPENDENTS, [
        checked.map((record) => record.kind),
        checked.map((record) => record.schema),
        checked.map((record) => record.name),
        checked.map((record) => record.parent),
        checked.map((record) => record.arguments),
    ]);
    return result.rows;
}
