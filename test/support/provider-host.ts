// Pulumi's own dynamic-provider host, driven the way the engine drives it.
//
// For every nodejs dynamic resource the engine starts `node @pulumi/pulumi/cmd/dynamic-provider
// <engine address>` in the project directory, reads the port it prints, and speaks the
// ResourceProvider gRPC protocol to it. This harness does the same: it starts that very process,
// calls Configure (the host answers acceptSecrets=false, so, like the engine, we send plain values
// and it is Pulumi that marks outputs secret in state), then Check/Diff/Create/Read/Update/Delete
// with properties encoded as google.protobuf.Struct, as the engine encodes them.
import { spawn, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import { createInterface } from "node:readline";
import * as grpc from "@grpc/grpc-js";
import { withoutSecretWrappers } from "./secrets";
import { REPO } from "./stack-files";

const providerGrpc = require("@pulumi/pulumi/proto/provider_grpc_pb");
const providerProto = require("@pulumi/pulumi/proto/provider_pb");
const structProto = require("google-protobuf/google/protobuf/struct_pb");

export type Properties = Record<string, unknown>;

export interface DiffResult {
    changes: "none" | "some" | "unknown";
    replaces: string[];
    deleteBeforeReplace: boolean;
}

export interface ProviderHost {
    /** What the host printed on stderr so far (provider logs and errors). */
    stderr(): string;
    configure(): Promise<{ acceptSecrets: boolean }>;
    check(urn: string, olds: Properties, news: Properties): Promise<Properties>;
    diff(id: string, urn: string, olds: Properties, news: Properties): Promise<DiffResult>;
    create(urn: string, properties: Properties): Promise<{ id: string; outputs: Properties }>;
    /** Refresh: `properties` are the outputs in state, `inputs` the inputs in state; `inputs` comes back only when the provider returns new ones. */
    read(
        id: string,
        urn: string,
        properties: Properties,
        inputs?: Properties,
    ): Promise<{ id: string; outputs: Properties; inputs?: Properties }>;
    update(id: string, urn: string, olds: Properties, news: Properties): Promise<Properties>;
    delete(id: string, urn: string, properties: Properties): Promise<void>;
    stop(): Promise<void>;
}

/** Where the host runs: the engine starts it in the project directory, from the project's @pulumi/pulumi. */
export interface HostOptions {
    /** Working directory. Default: this repository. */
    cwd?: string;
    /** The project whose node_modules/@pulumi/pulumi provides the host. Default: this repository. */
    project?: string;
    env?: NodeJS.ProcessEnv;
}

export function urnFor(type: string, name: string, stack = "dev"): string {
    return `urn:pulumi:${stack}::memory-stack::${type}::${name}`;
}

export async function startProviderHost(options: HostOptions = {}): Promise<ProviderHost> {
    const host = join(options.project ?? REPO, "node_modules", "@pulumi", "pulumi", "cmd", "dynamic-provider", "index.js");
    // The engine address is only passed through; the host does not call back for these methods.
    const child = spawn(process.execPath, [host, "127.0.0.1:1"], {
        cwd: options.cwd ?? REPO,
        env: { ...process.env, ...options.env },
        stdio: ["ignore", "pipe", "pipe"],
    });
    let stderr = "";
    child.stderr!.on("data", (chunk) => (stderr += chunk));
    const port = await firstLine(child, () => stderr);
    const client = new providerGrpc.ResourceProviderClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    const call = <T>(method: string, request: unknown): Promise<T> =>
        new Promise((resolve, reject) =>
            client[method](request, (error: grpc.ServiceError | null, response: T) =>
                error ? reject(Object.assign(new Error(error.details || error.message), { code: error.code })) : resolve(response),
            ),
        );
    // The host answers Configure with acceptSecrets=false, so every request carries plain values.
    const struct = (properties: Properties) => structProto.Struct.fromJavaScript(withoutSecretWrappers(properties));

    return {
        stderr: () => stderr,
        async configure() {
            const request = new providerProto.ConfigureRequest();
            request.setArgs(struct({}));
            request.setAcceptsecrets(true);
            request.setAcceptresources(true);
            const response = await call<{ getAcceptsecrets(): boolean }>("configure", request);
            return { acceptSecrets: response.getAcceptsecrets() };
        },
        async check(urn, olds, news) {
            const request = new providerProto.CheckRequest();
            request.setUrn(urn);
            request.setOlds(struct(olds));
            request.setNews(struct(news));
            const response = await call<{
                getInputs(): { toJavaScript(): Properties };
                getFailuresList(): { getProperty(): string; getReason(): string }[];
            }>("check", request);
            const failures = response.getFailuresList();
            if (failures.length > 0) {
                throw new Error(`check failed: ${failures.map((f) => `${f.getProperty()}: ${f.getReason()}`).join("; ")}`);
            }
            return response.getInputs().toJavaScript();
        },
        async diff(id, urn, olds, news) {
            const request = new providerProto.DiffRequest();
            request.setId(id);
            request.setUrn(urn);
            request.setOlds(struct(olds));
            request.setNews(struct(news));
            const response = await call<{ getChanges(): number; getReplacesList(): string[]; getDeletebeforereplace(): boolean }>(
                "diff",
                request,
            );
            const changes =
                { [providerProto.DiffResponse.DiffChanges.DIFF_NONE]: "none", [providerProto.DiffResponse.DiffChanges.DIFF_SOME]: "some" }[
                    response.getChanges()
                ] ?? "unknown";
            return {
                changes: changes as DiffResult["changes"],
                replaces: response.getReplacesList(),
                deleteBeforeReplace: response.getDeletebeforereplace(),
            };
        },
        async create(urn, properties) {
            const request = new providerProto.CreateRequest();
            request.setUrn(urn);
            request.setProperties(struct(properties));
            const response = await call<{ getId(): string; getProperties(): { toJavaScript(): Properties } }>("create", request);
            return { id: response.getId(), outputs: response.getProperties().toJavaScript() };
        },
        async read(id, urn, properties, inputs) {
            const request = new providerProto.ReadRequest();
            request.setId(id);
            request.setUrn(urn);
            request.setProperties(struct(properties));
            if (inputs) {
                request.setInputs(struct(inputs));
            }
            const response = await call<{
                getId(): string;
                getProperties(): { toJavaScript(): Properties };
                getInputs(): { toJavaScript(): Properties } | undefined;
            }>("read", request);
            return { id: response.getId(), outputs: response.getProperties().toJavaScript(), inputs: response.getInputs()?.toJavaScript() };
        },
        async update(id, urn, olds, news) {
            const request = new providerProto.UpdateRequest();
            request.setId(id);
            request.setUrn(urn);
            request.setOlds(struct(olds));
            request.setNews(struct(news));
            const response = await call<{ getProperties(): { toJavaScript(): Properties } }>("update", request);
            return response.getProperties().toJavaScript();
        },
        async delete(id, urn, properties) {
            const request = new providerProto.DeleteRequest();
            request.setId(id);
            request.setUrn(urn);
            request.setProperties(struct(properties));
            await call("delete", request);
        },
        async stop() {
            client.close();
            if (child.exitCode === null) {
                const exited = new Promise((resolve) => child.once("exit", resolve));
                child.kill("SIGTERM");
                await exited;
            }
        },
    };
}

function firstLine(child: ChildProcess, stderr: () => string): Promise<string> {
    return new Promise((resolve, reject) => {
        const lines = createInterface({ input: child.stdout! });
        const timer = setTimeout(
            () => reject(new Error(`the dynamic-provider host printed no port within 20 s; stderr: ${stderr()}`)),
            20_000,
        );
        lines.once("line", (line) => {
            clearTimeout(timer);
            resolve(line.trim());
        });
        child.once("exit", (code) => {
            clearTimeout(timer);
            reject(new Error(`the dynamic-provider host exited with ${code}; stderr: ${stderr()}`));
        });
    });
}
