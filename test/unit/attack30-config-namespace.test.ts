// A key under a misspelt namespace (memory_stack:, memorystack:, Memory-Stack:, memory-stak:) sits in
// Pulumi.<stack>.yaml and was never read: the stack deployed with the default, silently (a hostPort, a password). readConfig
// refuses it naming the key and the commands that fix it, never its value; other namespaces (providers', pulumi's) pass.
import * as pulumi from "@pulumi/pulumi";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { readConfig } from "../../components/read-config";
import { installMocks } from "../support/program";

beforeAll(() => {
    installMocks("dev");
});

afterEach(() => {
    pulumi.runtime.setAllConfig({});
});

function read(config: Record<string, string>): () => unknown {
    pulumi.runtime.setAllConfig(config);
    return () => readConfig();
}

describe("readConfig and a misspelt namespace", () => {
    it("refuses the key, naming it and the fix, never its value", () => {
        // Up to two edits away (memry_stack: two).
        for (const namespace of ["memory_stack", "memorystack", "Memory-Stack", "memory-stak", "memmory-stack", "memry_stack"]) {
            const error = (() => {
                try {
                    read({ [`${namespace}:password`]: "Typo-Secret-1234" })();
                } catch (caught) {
                    return caught as Error;
                }
                return undefined;
            })();
            expect(error?.message, namespace).toBe(
                `${namespace}:password is never read: this project's config keys are memory-stack:<key>. Run \`pulumi config rm ${namespace}:password\`, ` +
                    "then `pulumi config set memory-stack:password …` (with --secret for a password, --path for a field of an object)",
            );
        }
    });

    it("reads the project's keys and leaves other namespaces alone", () => {
        expect(() =>
            read({
                "memory-stack:hostPort": "5440",
                "docker:host": "unix:///var/run/docker.sock",
                "postgresql:sslmode": "disable",
                "aws:region": "x",
                "mem-stack:hostPort": "5440", // three edits away: another project's, as far as can be told
            })(),
        ).not.toThrow();
    });
});
