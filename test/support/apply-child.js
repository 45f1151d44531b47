// The applying process of the kill tests: applies the migrations listed in a JSON file with the
// compiled engine (dist/, as the CLI and the dynamic providers run it) and prints one JSON line per
// progress event on stdout, so a test can kill it with SIGKILL at a chosen point.
//
//   node apply-child.js <file.json>   {"connection": {...}, "migrations": [{name, sql, checksum}], "variant": "jsonb"}
"use strict";
const { readFileSync } = require("node:fs");
const { join } = require("node:path");
const { Client } = require("pg");
const { applyMigrations } = require(join(__dirname, "..", "..", "dist", "engine", "migrate", "index.js"));

async function main() {
    const { connection, migrations, variant } = JSON.parse(readFileSync(process.argv[2], "utf8"));
    const print = (event) => process.stdout.write(`${JSON.stringify(event)}\n`);
    const client = new Client({ ...connection, application_name: "memory-stack-apply-child" });
    await client.connect();
    print({ type: "connected" });
    await applyMigrations(client, migrations, {
        variant,
        onProgress: (progress) => print({ type: "migration", ...progress }),
        steps: { onEvent: print },
    });
    print({ type: "finished" });
    await client.end();
}

main().catch((error) => {
    process.stderr.write(`${error.stack ?? error}\n`);
    process.exit(1);
});
