// docker publishes a port on the one address bindAddress names (a listener on 127.0.0.1 takes no connection to
// 127.0.0.2 or ::1), and `localhost` names 127.0.0.1 (::1 not everywhere: Ubuntu's /etc/hosts gives it to ip6-localhost
// only, and this test machine's localhost is 127.0.0.1 alone). The rule let any loopback host pair with any loopback
// bindAddress: preview passed, the containers were published where neither the stack's own connections nor the output
// URLs went, and the postgresql provider failed to connect; on a live stack the containers had moved first.
import { describe, expect, it } from "vitest";
import { parseConfig } from "../../engine/config/config";
import { configErrorFor } from "../support/config-errors";

describe("a host that would not reach the address the ports are published on", () => {
    it.each<[Record<string, string>, string]>([
        [{ bindAddress: "::1", host: "127.0.0.1" }, "host"],
        [{ host: "::1" }, "host"],
        [{ host: "127.0.0.2" }, "host"],
        [{ bindAddress: "192.168.1.20", host: "10.0.0.5" }, "host"],
        [{ bindAddress: "127.0.0.2" }, "bindAddress"],
        [{ bindAddress: "::1" }, "bindAddress"],
    ])("is refused: %j, naming %s", (raw, key) => {
        const error = configErrorFor(raw);

        expect(error.key).toBe(key);
        expect(error.message).toContain(`set memory-stack:host to ${raw.bindAddress ?? "127.0.0.1"}`);
    });
});

describe("bindAddress ::, which docker publishes on for IPv6 only", () => {
    it.each(["localhost", "127.0.0.1", "192.168.1.20"])("refuses host %s", (host) => {
        const error = configErrorFor({ bindAddress: "::", host });

        expect(error.key).toBe("host");
        expect(error.message).toContain("set memory-stack:bindAddress to 0.0.0.0 for every interface");
    });
});

describe("a host that reaches it", () => {
    it.each([
        [{ bindAddress: "::1", host: "::1" }],
        [{ bindAddress: "::1", host: "0:0:0:0:0:0:0:1" }],
        [{ bindAddress: "127.0.0.2", host: "127.0.0.2" }],
        [{ bindAddress: "192.168.1.20", host: "db.example.internal" }],
        [{ bindAddress: "0.0.0.0", host: "127.0.0.2" }],
        [{ bindAddress: "::", host: "::1" }],
    ])("is accepted: %j", (raw) => {
        expect(() => parseConfig(raw)).not.toThrow();
    });
});
