// A small engine on top of Pulumi's dynamic-provider host (provider-host.ts): `up`, `refresh` and
// `destroy` of dynamic resources, with state kept and calls made the way the Pulumi engine does it.
//
//   up      → per resource, in program (dependency) order: Check(old inputs, new inputs); without
//             state Create(checked inputs); else Diff(old OUTPUTS, checked inputs) and on a change
//             Update(old OUTPUTS, checked inputs). No change keeps the old outputs (and the
//             __provider text in them) and records the new inputs. A replacement is refused: no
//             resource here may ever be replaced. A companion stands in for the program's other
//             resources that depend on a resource (the grants after the schema): it comes up after
//             the resource's create or update (or when it is down), and goes down before its delete.
//   refresh → Read(id, old outputs, old inputs): the outputs in state become what Read returned.
//   destroy → Delete(id, old outputs) in reverse creation order. Nothing of the program is used:
//             `pulumi destroy` runs from state alone.
// A failed call leaves that resource's state as it was and stops the run, as the engine stops
// dependents. Secrets: the host does not accept them, so the engine sends plain values and itself
// marks secret in state the outputs named in additionalSecretOutputs and those whose input was
// secret; `secretOutputs` records that set, for tests to prove nothing secret is left plain.
import * as pulumi from "@pulumi/pulumi";
import { withClient } from "../../engine/db/client";
import type { ConnectionSettings } from "../../engine/db/url";
import { renderGrants, renderRevokes } from "../../engine/render/grants";
import { privilegeRules } from "../../engine/render/privileges";
import type { Migration, SchemaOptions } from "../../engine/migrate/render";
import { startProviderHost, urnFor, type DiffResult, type HostOptions, type Properties, type ProviderHost } from "./provider-host";
import { registerDeployGuard, registerSchemaMigration, registerVerification, type RegisteredDynamic } from "./schema-provider";
import { secretPaths } from "./secrets";

/** A dynamic resource as the program registered it. */
export interface ProgramResource {
    /** Logical name; the URN is built from it. */
    name: string;
    type: string;
    /** Inputs as the engine received them from the program: __provider included, secrets still wrapped. */
    inputs: Properties;
    additionalSecretOutputs: string[];
    /** The program's other resources that depend on this one (the Grants component): created after it, destroyed before it. */
    companion?: Companion;
}

/** Resources this engine does not drive through the host, as plain steps. */
export interface Companion {
    /** Creates or updates them; idempotent. */
    up(): Promise<void>;
    /** Removes them. */
    down(): Promise<void>;
}

export interface ResourceState {
    id: string;
    urn: string;
    /** Checked inputs of the last up, plain. */
    inputs: Properties;
    /** Outputs of the last create, update or refresh, plain, __provider included. */
    outputs: Properties;
    /** Output names the engine stores as secrets. */
    secretOutputs: string[];
}

export type Step = "create" | "update" | "same";

export interface Call {
    method: "check" | "diff" | "create" | "update" | "read" | "delete";
    name: string;
    /** What was sent as `olds` (diff, update) or `properties` (read, delete). */
    olds?: Properties;
    diff?: DiffResult;
}

export class Lifecycle {
    /** By resource name, in creation order. */
    readonly state = new Map<string, ResourceState>();
    /** Every call made to the host, in order. */
    readonly calls: Call[] = [];
    /** The companions of the resources in state, and whether each is up. */
    private readonly companions = new Map<string, { companion: Companion; up: boolean }>();

    constructor(readonly host: ProviderHost) {}

    /** One `pulumi up`; `afterStep` runs once a resource's step is done (e.g. to mark a server log). */
    async up(resources: ProgramResource[], afterStep?: (name: string, step: Step) => Promise<void>): Promise<Record<string, Step>> {
        const steps: Record<string, Step> = {};
        for (const resource of resources) {
            const urn = urnFor(resource.type, resource.name);
            const old = this.state.get(resource.name);
            const secretOutputs = [...new Set([...resource.additionalSecretOutputs, ...secretPaths(resource.inputs)])];
            this.calls.push({ method: "check", name: resource.name });
            const inputs = await this.host.check(urn, old?.inputs ?? {}, resource.inputs);
            if (!old) {
                this.calls.push({ method: "create", name: resource.name });
                const created = await this.host.create(urn, inputs);
                this.state.set(resource.name, { id: created.id, urn, inputs, outputs: created.outputs, secretOutputs });
                steps[resource.name] = "create";
            } else {
                const diff = await this.host.diff(old.id, urn, old.outputs, inputs);
                this.calls.push({ method: "diff", name: resource.name, olds: old.outputs, diff });
                if (diff.replaces.length > 0) {
                    throw new Error(
                        `${resource.name}: Diff asked to replace it (${diff.replaces.join(", ")}); a replacement would delete the old one`,
                    );
                }
                if (diff.changes === "none") {
                    this.state.set(resource.name, { ...old, inputs, secretOutputs });
                    steps[resource.name] = "same";
                } else {
                    this.calls.push({ method: "update", name: resource.name, olds: old.outputs });
                    const outputs = await this.host.update(old.id, urn, old.outputs, inputs);
                    this.state.set(resource.name, { ...old, inputs, outputs, secretOutputs });
                    steps[resource.name] = "update";
                }
            }
            await afterStep?.(resource.name, steps[resource.name]);
            if (resource.companion) {
                const known = this.companions.get(resource.name);
                if (steps[resource.name] !== "same" || !known?.up) {
                    await resource.companion.up();
                }
                this.companions.set(resource.name, { companion: resource.companion, up: true });
            }
        }
        return steps;
    }

    /** One `pulumi refresh`; returns, per resource, the output names whose value changed. */
    async refresh(): Promise<Record<string, string[]>> {
        const changed: Record<string, string[]> = {};
        for (const [name, resource] of this.state) {
            this.calls.push({ method: "read", name, olds: resource.outputs });
            const read = await this.host.read(resource.id, resource.urn, resource.outputs, resource.inputs);
            const keys = new Set([...Object.keys(resource.outputs), ...Object.keys(read.outputs)]);
            changed[name] = [...keys].filter((key) => JSON.stringify(resource.outputs[key]) !== JSON.stringify(read.outputs[key])).sort();
            this.state.set(name, { ...resource, id: read.id, outputs: read.outputs, inputs: read.inputs ?? resource.inputs });
        }
        return changed;
    }

    /** One `pulumi destroy`: deletes in reverse creation order, each from its state alone (a companion just before its resource). */
    async destroy(): Promise<void> {
        for (const [name, resource] of [...this.state].reverse()) {
            const companion = this.companions.get(name);
            if (companion?.up) {
                await companion.companion.down();
                companion.up = false;
            }
            this.calls.push({ method: "delete", name, olds: resource.outputs });
            await this.host.delete(resource.id, resource.urn, resource.outputs);
            this.state.delete(name);
        }
    }

    /** What the last Diff of `name` returned. */
    lastDiff(name: string): DiffResult | undefined {
        return this.calls.filter((call) => call.method === "diff" && call.name === name).at(-1)?.diff;
    }

    outputs(name: string): Properties {
        const resource = this.state.get(name);
        if (!resource) {
            throw new Error(`no ${name} in state; state holds: ${[...this.state.keys()].join(", ") || "nothing"}`);
        }
        return resource.outputs;
    }
}

/** Starts the host and configures it, as the engine does before the first resource call. */
export async function startLifecycle(options: HostOptions = {}): Promise<Lifecycle> {
    const host = await startProviderHost(options);
    try {
        await host.configure();
    } catch (error) {
        await host.stop();
        throw error;
    }
    return new Lifecycle(host);
}

export interface MemoryProgramArgs {
    connection: ConnectionSettings;
    schema: SchemaOptions;
    /** The deploy guard first, as components/server.ts puts it before everything that changes the server; docker: with this image. Default: no guard. */
    guard?: { serverImage?: string };
    /** Default: sql/ rendered for `schema`. */
    migrations?: Migration[];
    allowDataLoss?: boolean;
    readinessTimeoutMs?: number;
    /** The stack the schema resource says it is (<project>/<stack>). Default: the mocks' memory-stack/dev. */
    stack?: string;
}

let registrations = 0;

/**
 * The program's dynamic resources as components/memory-stack.ts wires them — SchemaMigration, then
 * Verification tied to its checksum — registered under mocks; the connection is a secret, as the
 * server component hands it over.
 */
export async function memoryProgram(args: MemoryProgramArgs): Promise<ProgramResource[]> {
    const suffix = ++registrations; // registration names are unique per process; URNs use the logical names
    const connection = pulumi.secret(args.connection);
    const guard =
        args.guard &&
        (await registerDeployGuard(`memory-guard-${suffix}`, { connection, schema: args.schema, stack: args.stack, ...args.guard }));
    const schema = await registerSchemaMigration(`memory-schema-${suffix}`, {
        connection,
        schema: args.schema,
        migrations: args.migrations,
        allowDataLoss: args.allowDataLoss,
        readinessTimeoutMs: args.readinessTimeoutMs,
        stack: args.stack,
    });
    const verification = await registerVerification(`memory-verification-${suffix}`, {
        connection,
        schema: args.schema,
        migrations: args.migrations,
        schemaChecksum: schema.inputs.checksum,
        readinessTimeoutMs: args.readinessTimeoutMs,
    });
    // The Grants component's postgresql.Grant resources come between the two; here, the same list as SQL.
    const grants = (render: typeof renderGrants) => () =>
        withClient(args.connection, { applicationName: "memory-stack-test-grants" }, async (client) => {
            const statements = render(privilegeRules({ rolesCreated: true }), {
                database: args.connection.database,
                roles: { app: args.schema.appRole, admin: args.schema.adminRole },
            });
            for (const statement of args.schema.rls ? statements : []) {
                // A revoke on an object a test dropped has nothing to take back.
                await client.query(statement).catch((error: { code?: string }) => {
                    if (render === renderGrants || !["42P01", "42883", "42704"].includes(error.code ?? "")) throw error;
                });
            }
        });
    return [
        ...(guard ? [programResource("memory-guard", guard)] : []),
        { ...programResource("memory-schema", schema), companion: { up: grants(renderGrants), down: grants(renderRevokes) } },
        programResource("memory-verification", verification),
    ];
}

/** A registered dynamic resource under the logical name its URN uses. */
function programResource(name: string, registered: RegisteredDynamic<unknown>): ProgramResource {
    return {
        name,
        type: registered.type,
        inputs: registered.rawInputs,
        additionalSecretOutputs: registered.opts.additionalSecretOutputs ?? [],
    };
}

/** Output names whose value holds `needle` (a password, say): each must be among the state's secretOutputs. */
export function outputsHolding(outputs: Properties, needle: string): string[] {
    return Object.keys(outputs)
        .filter((key) => JSON.stringify(outputs[key] ?? null).includes(needle))
        .sort();
}
