// Each command in a file of its own, loaded only when it runs.
import type { Command } from "./command";
import type { CommandName } from "./names";

export async function loadCommand(name: CommandName): Promise<Command> {
    switch (name) {
        case "plan":
            return (await import("./plan")).plan;
        case "apply":
            return (await import("./apply")).apply;
        case "status":
            return (await import("./status")).status;
        case "rollback":
            return (await import("./rollback")).rollback;
        case "verify":
            return (await import("./verify")).verify;
    }
}
