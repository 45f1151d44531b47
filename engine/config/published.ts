// Where docker publishes the two containers' ports (bindAddress), and the rule that clients can reach them
// at `host`. Docker's default, every interface, reaches past a host firewall such as ufw (docker writes its own
// iptables rules): a dev stack would offer the owner's login to the whole network.
import { BlockList, isIP } from "node:net";
import type { z } from "zod";
import type { StackConfig } from "./config";

export const DEFAULT_BIND_ADDRESS = "127.0.0.1";

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet("127.0.0.0", 8, "ipv4");
LOOPBACK.addAddress("::1", "ipv6");

const WILDCARD = new BlockList();
WILDCARD.addAddress("0.0.0.0", "ipv4");
WILDCARD.addAddress("::", "ipv6");

// What the name `localhost` resolves to everywhere. Not ::1: Ubuntu's /etc/hosts gives it to ip6-localhost only.
const LOCALHOST = new BlockList();
LOCALHOST.addAddress("127.0.0.1", "ipv4");

function within(list: BlockList, address: string): boolean {
    const family = isIP(address);
    return family !== 0 && list.check(address, family === 4 ? "ipv4" : "ipv6");
}

/** The same address however written (::1 and 0:0:0:0:0:0:0:1). */
function sameAddress(a: string, b: string): boolean {
    const list = new BlockList();
    list.addAddress(b, isIP(b) === 4 ? "ipv4" : "ipv6");
    return within(list, a);
}

function localhostName(host: string): boolean {
    return host.toLowerCase().replace(/\.$/, "") === "localhost";
}

/** A host name or address that names this machine's loopback interface. */
function loopbackHost(host: string): boolean {
    return localhostName(host) || within(LOOPBACK, host);
}

/**
 * docker: `host` (what every output URL and the stack's own connections use) must reach the ports `bindAddress` publishes.
 * A port published on one address takes no connection to another (127.0.0.1 none to 127.0.0.2 or ::1).
 */
export function publishedRules(config: StackConfig, ctx: z.RefinementCtx): void {
    const { bindAddress, host } = config;
    const refuse = (key: "host" | "bindAddress", message: string) =>
        ctx.addIssue({ code: "custom", path: [key], input: config[key], message });
    if (within(WILDCARD, bindAddress)) {
        // docker publishes on :: for IPv6 only; localhost is 127.0.0.1 wherever /etc/hosts gives ::1 another name.
        if (isIP(bindAddress) === 6 && (isIP(host) === 4 || localhostName(host))) {
            refuse(
                "host",
                `is where clients connect, but memory-stack:bindAddress :: has docker publish PostgreSQL and PgBouncer on ` +
                    `IPv6 addresses only; set memory-stack:bindAddress to 0.0.0.0 for every interface, or memory-stack:host ` +
                    `to an IPv6 address of this machine (::1 from here)`,
            );
        }
        return;
    }
    if (within(LOOPBACK, bindAddress) && !loopbackHost(host)) {
        refuse(
            "host",
            `is where clients connect, but PostgreSQL and PgBouncer publish their ports on ${bindAddress} only ` +
                `(memory-stack:bindAddress, default ${DEFAULT_BIND_ADDRESS}: this machine); to reach them from elsewhere set ` +
                `memory-stack:bindAddress to this machine's address on that network, or 0.0.0.0 for every interface (docker's ` +
                `published ports pass host firewalls such as ufw); or leave host unset (localhost)`,
        );
    } else if (isIP(host) !== 0 && !sameAddress(host, bindAddress)) {
        refuse(
            "host",
            `is where clients connect, but PostgreSQL and PgBouncer publish their ports on ${bindAddress} only ` +
                `(memory-stack:bindAddress${bindAddress === DEFAULT_BIND_ADDRESS ? `, default ${DEFAULT_BIND_ADDRESS}` : ""}), ` +
                `which takes no connection to another address; set memory-stack:host to ${bindAddress}` +
                `${within(LOCALHOST, bindAddress) ? " (or leave it unset: localhost)" : ""}, or memory-stack:bindAddress to ${host}`,
        );
    } else if (localhostName(host) && !within(LOCALHOST, bindAddress)) {
        refuse(
            "bindAddress",
            `publishes PostgreSQL and PgBouncer on that address only, but host is ${host} (127.0.0.1, on some systems ::1 ` +
                `too): every output URL ` +
                `and the stack's own connections go there and would not reach them; set memory-stack:host to ${bindAddress} (or a ` +
                `name for it)`,
        );
    }
}
