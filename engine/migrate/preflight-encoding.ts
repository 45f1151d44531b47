// A database whose encoding is not UTF8 (LATIN1 on an older cluster): the server converts each query's text from the
// client's UTF8, and a statement holding a character its encoding lacks fails there, after the files before it committed
// (0015's "…" in its messages stops the switch to vector in a LATIN1 database halfway, for good). Asked before any change.
import type { SqlClient } from "../db/client";
import type { Conflict } from "./preflight";

/**
 * The pending files whose statements (comments between them are never sent alone) hold characters the database's encoding
 * lacks. One round trip, only when some statement holds a character beyond ASCII; in or out of a transaction: the
 * characters go as hex, and a block catches each conversion error and keeps the ones that failed in a local setting.
 */
export async function encodingConflicts(client: SqlClient, files: { name: string; statements: { text: string }[] }[]): Promise<Conflict[]> {
    const wide = files
        .map(({ name, statements }) => ({ name, characters: new Set(statements.flatMap((s) => [...s.text]).filter((c) => c > "\u007f")) }))
        .filter((file) => file.characters.size > 0);
    if (wide.length === 0) {
        return [];
    }
    const hex = [...new Set(wide.flatMap((file) => [...file.characters]))].map((c) => Buffer.from(c).toString("hex"));
    const results = (await client.query(`do $$
declare
    c text;
    lacking text := '';
begin
    foreach c in array array['${hex.join("', '")}'] loop
        begin
            perform pg_catalog.convert(pg_catalog.decode(c, 'hex'), 'UTF8', pg_catalog.current_setting('server_encoding'));
        exception when untranslatable_character then
            lacking := lacking || c || ' ';
        end;
    end loop;
    perform pg_catalog.set_config('memory_stack.lacking', lacking, true);
end $$;
select pg_catalog.current_setting('memory_stack.lacking') as lacking, pg_catalog.current_setting('server_encoding') as encoding`)) as unknown as {
        rows: { lacking: string; encoding: string }[];
    }[];
    const { lacking, encoding } = results[1].rows[0];
    const lacks = new Set(lacking.split(" ").filter((code) => code !== ""));
    return wide.flatMap(({ name, characters }) => {
        const missing = [...characters].filter((c) => lacks.has(Buffer.from(c).toString("hex")));
        return missing.length === 0
            ? []
            : [
                  {
                      object: `migration ${name}`,
                      problem:
                          `its statements hold ${missing.map((c) => `"${c}"`).join(", ")}, which this database's encoding (${encoding}) ` +
                          "cannot hold, so it would fail there with the files before it applied",
                      fix: "Deploy into a database created in UTF8 (create database … encoding 'UTF8' template template0)",
                  },
              ];
    });
}
