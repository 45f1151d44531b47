// A PostgreSQL 15 of a test's own with TLS on (a self-signed certificate for localhost, made by Debian's
// openssl), listening on 127.0.0.1 and ::1, and a pg_hba.conf with one database that takes only TLS
// connections (ssl_only) and one that takes only plain ones (plain_only): what libpq's sslmodes differ on.
import { execFileSync, spawnSync } from "node:child_process";
import { chmodSync, chownSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client } from "pg";
import { startEmbeddedPostgres, type RunningServer } from "./embedded-server";

export interface TlsServer extends RunningServer {
    /** The CA file that verifies the server's certificate (the certificate itself: it is self-signed). */
    caFile: string;
}

/** Why a TLS server cannot be started here, or undefined when it can. */
export function tlsServerUnavailable(): string | undefined {
    const probe = spawnSync("openssl", ["version"], { encoding: "utf8" });
    return probe.status === 0
        ? undefined
        : "openssl is not installed (apt-get install openssl): no self-signed certificate for the TLS server";
}

/** A self-signed certificate for localhost and its key, made in `dir`. */
export function selfSignedCertificate(dir: string): { key: string; cert: string } {
    const [key, cert] = ["server.key", "server.crt"].map((name) => join(dir, name));
    execFileSync(
        "openssl",
        [
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=DNS:localhost",
            "-keyout",
            key,
            "-out",
            cert,
        ],
        { stdio: "ignore" },
    );
    return { key, cert };
}

export async function startTlsServer(): Promise<TlsServer> {
    const dir = mkdtempSync(join(tmpdir(), "memory-stack-tls-"));
    const { key, cert } = selfSignedCertificate(dir);
    const hba = join(dir, "pg_hba.conf");
    writeFileSync(
        hba,
        [
            "local all all trust",
            "hostssl ssl_only all 127.0.0.1/32 scram-sha-256",
            "hostssl ssl_only all ::1/128 scram-sha-256",
            "host ssl_only all all reject",
            "hostnossl plain_only all 127.0.0.1/32 scram-sha-256",
            "hostnossl plain_only all ::1/128 scram-sha-256",
            "host plain_only all all reject",
            "host all all 127.0.0.1/32 scram-sha-256",
            "host all all ::1/128 scram-sha-256",
            "",
        ].join("\n"),
    );
    // The server runs as the postgres user when the tests run as root: it must read these, and only it the key.
    chmodSync(dir, 0o755);
    chmodSync(key, 0o600);
    if (process.getuid?.() === 0) {
        const uid = Number(execFileSync("id", ["-u", "postgres"], { encoding: "utf8" }));
        const gid = Number(execFileSync("id", ["-g", "postgres"], { encoding: "utf8" }));
        for (const file of [key, cert, hba]) {
            chownSync(file, uid, gid);
        }
    }
    const server = await startEmbeddedPostgres({
        flags: [
            "-c",
            "listen_addresses=127.0.0.1,::1",
            "-c",
            "ssl=on",
            "-c",
            `ssl_cert_file=${cert}`,
            "-c",
            `ssl_key_file=${key}`,
            "-c",
            `hba_file=${hba}`,
        ],
    });
    const admin = new Client({ host: server.host, port: server.port, user: server.user, password: server.password, database: "postgres" });
    await admin.connect();
    try {
        await admin.query("create database ssl_only");
        await admin.query("create database plain_only");
    } finally {
        await admin.end();
    }
    return {
        ...server,
        caFile: cert,
        async stop() {
            await server.stop();
            rmSync(dir, { recursive: true, force: true });
        },
    };
}
