/**
 * A local ARM emulator on 127.0.0.1 for the azure-servicegateway backend's tests: the serviceGateways,
 * publicIPAddresses, loadBalancers and natGateways paths and JSON shapes, per-route long-running-operation
 * shapes, scripted faults and a request log.
 *
 * Mutations take effect when the request is accepted; the operation then reports InProgress for
 * `pollsBeforeDone` polls before it reports Succeeded.
 */
import { ArmFault, type EmulatorState, GatewayModel } from "./model.ts";
import type { Fault, RecordedRequest, ResponseMode, RouteName } from "./types.ts";
import { WRITE_ROUTES } from "./types.ts";

export {
  type Fault,
  type RecordedRequest,
  RESPONSE_MODES,
  type ResponseMode,
  type RouteName,
  WRITE_ROUTES,
} from "./types.ts";

export interface ArmEmulatorOptions {
  /** The bearer token required; any token when absent. */
  token?: string;
  /** The api-version required on every call; any when absent. */
  apiVersion?: string;
  /** Create the gateway up front (default true), as `subscription/resourceGroup/name`. */
  gateway?: { subscriptionId: string; resourceGroup: string; name: string; location: string } | false;
  pollsBeforeDone?: number;
  defaultMode?: ResponseMode;
}

export interface ArmEmulator {
  url: string;
  requests: RecordedRequest[];
  state(): EmulatorState;
  setMode(route: RouteName | "*", mode: ResponseMode): void;
  script(faults: readonly Fault[]): void;
  /** Faults not yet consumed. */
  pendingFaults(): number;
  /** Late writes (`applyLater`) not yet applied. */
  pendingLateWrites(): number;
  /** Changes the model behind the client's back (what another actor, or a lost write, would do). */
  tamper(fn: (model: GatewayModel) => void): void;
  close(): Promise<void>;
}

interface Operation {
  pollsLeft: number;
  failed?: { code: string; message: string };
  resourcePath?: string;
  resultBody?: unknown;
}

const PROVIDER = /^\/subscriptions\/([^/]+)\/resourceGroups\/([^/]+)\/providers\/Microsoft\.Network\/(.+)$/i;
const OPERATION =
  /^\/subscriptions\/([^/]+)\/providers\/Microsoft\.Network\/locations\/([^/]+)\/(operations|operationResults)\/([^/]+)$/i;

function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(body === undefined ? null : JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json", ...headers },
  });
}

function armError(
  status: number,
  code: string,
  message: string,
  headers: Record<string, string> = {},
): Response {
  return json(status, { error: { code, message } }, headers);
}

export function startArmEmulator(opts: ArmEmulatorOptions = {}): ArmEmulator {
  const model = new GatewayModel();
  const modes = new Map<RouteName, ResponseMode>();
  const faults: (Fault & { left: number; skip: number })[] = [];
  const lateTimers = new Set<ReturnType<typeof setTimeout>>();
  const requests: RecordedRequest[] = [];
  const operations = new Map<string, Operation>();
  const hung = new Set<() => void>();
  let opSeq = 0;
  let closed = false;
  const defaultMode = opts.defaultMode ?? "sync";
  if (opts.gateway !== false) {
    const g = opts.gateway ??
      { subscriptionId: "sub", resourceGroup: "rg", name: "sgw", location: "westeurope" };
    model.putGateway(
      `/subscriptions/${g.subscriptionId}/resourceGroups/${g.resourceGroup}/providers/Microsoft.Network/serviceGateways/${g.name}`,
      { location: g.location, properties: {} },
    );
  }

  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const url = new URL(req.url);
    const path = decodeURIComponent(url.pathname);
    const text = req.method === "GET" || req.method === "DELETE" ? "" : await req.text();
    let body: unknown;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      return record(
        { method: req.method, path, route: "unknown", body: text },
        armError(400, "InvalidJson", "bad JSON"),
      );
    }
    const entry = { method: req.method, path, route: routeOf(path), body } as const;
    if (opts.token && req.headers.get("authorization") !== `Bearer ${opts.token}`) {
      return record(entry, armError(401, "AuthenticationFailed", "missing or wrong bearer token"));
    }
    const apiVersion = url.searchParams.get("api-version");
    if (!apiVersion || (opts.apiVersion && apiVersion !== opts.apiVersion)) {
      return record(
        entry,
        armError(
          400,
          "InvalidApiVersionParameter",
          `api-version ${apiVersion} (expected ${opts.apiVersion ?? "any"})`,
        ),
      );
    }
    const fault = takeFault(entry.route as RouteName, req.method);
    if (fault && (fault.kind ?? "error") === "error") {
      const headers: Record<string, string> = fault.retryAfter ? { "retry-after": fault.retryAfter } : {};
      const status = fault.status ?? 500;
      return record(
        { ...entry, fault: "error" },
        armError(status, fault.code ?? `Scripted${status}`, "scripted", headers),
      );
    }
    if (fault?.kind === "hang") {
      if (fault.apply) handle(req.method, path, entry.route, body, url);
      requests.push({ ...entry, status: 0, fault: "hang", at: Date.now() });
      await new Promise<void>((resolve) => hung.add(resolve));
      return armError(503, "EmulatorClosed", "emulator closed while the request hung");
    }
    if (fault?.kind === "applyLater") {
      const id = setTimeout(() => {
        lateTimers.delete(id);
        if (closed) return;
        try {
          handle(req.method, path, entry.route, body, url);
        } catch {
          // ARM would refuse the late write the same way: nothing applied.
        }
      }, fault.delayMs ?? 100);
      lateTimers.add(id);
      const status = fault.status ?? 500;
      return record(
        { ...entry, fault: "applyLater" },
        armError(status, fault.code ?? `Scripted${status}`, "scripted; applied later"),
      );
    }
    if (fault?.kind === "pollFailed") {
      const id = `op${++opSeq}`;
      operations.set(id, {
        pollsLeft: 0,
        failed: {
          code: fault.code ?? "InternalServerError",
          message: "scripted failure reported by the poll",
        },
      });
      return record(
        { ...entry, fault: "pollFailed" },
        json(202, undefined, { "azure-asyncoperation": opUrl(url, id) }),
      );
    }
    let response: Response;
    try {
      response = handle(req.method, path, entry.route, body, url);
    } catch (err) {
      response = err instanceof ArmFault
        ? armError(err.status, err.code, err.message)
        : armError(500, "InternalServerError", String(err));
    }
    if (fault?.kind === "applyThenError") {
      const status = fault.status ?? 500;
      response = armError(status, fault.code ?? `Scripted${status}`, "scripted after applying");
      return record({ ...entry, fault: "applyThenError" }, response);
    }
    return record(entry, response);
  });
  const url = `http://127.0.0.1:${server.addr.port}`;

  function record(entry: Omit<RecordedRequest, "status" | "at">, res: Response): Response {
    requests.push({ ...entry, status: res.status, at: Date.now() });
    return res;
  }

  function takeFault(route: RouteName, method: string): Fault | undefined {
    const i = faults.findIndex((f) => (!f.route || f.route === route) && (!f.method || f.method === method));
    if (i < 0) return undefined;
    const f = faults[i];
    if (f.skip > 0) {
      f.skip--;
      return undefined;
    }
    if (--f.left <= 0) faults.splice(i, 1);
    return f;
  }

  function opUrl(url: URL, id: string, kind = "operations"): string {
    return `${url.origin}/subscriptions/sub/providers/Microsoft.Network/locations/emulator/${kind}/${id}?api-version=${
      url.searchParams.get("api-version")
    }`;
  }

  function routeOf(path: string): RouteName | "unknown" {
    if (OPERATION.test(path)) return "operations";
    const m = PROVIDER.exec(path);
    if (!m) return "unknown";
    const parts = m[3].split("/");
    if (parts[0] === "serviceGateways") {
      if (parts.length === 2) return "gateway";
      if (parts.length === 3 && Object.hasOwn(subRoutes, parts[2])) return subRoutes[parts[2]];
      return "unknown";
    }
    if (parts.length !== 2 && parts.length !== 1) return "unknown";
    if (parts[0] === "publicIPAddresses" || parts[0] === "loadBalancers" || parts[0] === "natGateways") {
      return parts[0];
    }
    return "unknown";
  }

  /** The answer of a write that succeeded, in the route's response mode. */
  function accepted(
    url: URL,
    route: RouteName,
    method: string,
    created: boolean,
    resource: unknown,
    resourcePath?: string,
  ): Response {
    const mode = modes.get(route) ?? defaultMode;
    const polls = opts.pollsBeforeDone ?? 1;
    if (mode === "sync") {
      if (method === "DELETE") return json(resource === undefined ? 204 : 200, undefined);
      return json(created ? 201 : 200, resource ?? {});
    }
    const id = `op${++opSeq}`;
    operations.set(id, { pollsLeft: polls, resourcePath, resultBody: resource });
    if (mode === "location") {
      return json(202, undefined, { location: opUrl(url, id, "operationResults"), "retry-after": "0" });
    }
    const headers = { "azure-asyncoperation": opUrl(url, id), "retry-after": "0" };
    if (mode === "sync-polling") return json(200, resource ?? {}, headers);
    return json(method === "PUT" ? 201 : 202, method === "PUT" ? resource : undefined, headers);
  }

  function handle(method: string, path: string, route: string, body: unknown, url: URL): Response {
    if (route === "operations") return poll(path);
    if (route === "unknown") {
      return armError(404, "NoRegisteredProviderFound", `no route for ${method} ${path}`);
    }
    const r = route as RouteName;
    switch (r) {
      case "gateway":
        if (method === "GET") {
          return model.gateway ? json(200, model.gateway) : armError(404, "ResourceNotFound", path);
        }
        if (method === "PUT") {
          const { created, resource } = model.putGateway(path, body as never);
          return accepted(url, r, method, created, resource, path);
        }
        if (method === "DELETE") {
          model.deleteGateway();
          return accepted(url, r, method, false, undefined);
        }
        break;
      case "services":
        if (method === "GET") {
          model.requireGateway();
          return json(200, { value: [...model.services.values()] });
        }
        break;
      case "addressLocations":
        if (method === "GET") {
          model.requireGateway();
          const value = [...model.locations].map(([addressLocation, loc]) => ({
            addressLocation,
            addresses: [...loc].map(([address, services]) => ({ address, services: [...services] })),
          }));
          return json(200, { value });
        }
        break;
      case "updateServices":
        if (method === "POST") {
          model.updateServices(body as never);
          return accepted(url, r, method, false, undefined);
        }
        break;
      case "updateAddressLocations":
        if (method === "POST") {
          model.updateAddressLocations(body as never);
          return accepted(url, r, method, false, undefined);
        }
        break;
      case "publicIPAddresses":
      case "loadBalancers":
      case "natGateways": {
        const store = r === "publicIPAddresses"
          ? model.publicIPs
          : r === "loadBalancers"
          ? model.loadBalancers
          : model.natGateways;
        if (method === "GET" && !/\/(publicIPAddresses|loadBalancers|natGateways)\/[^/]+$/i.test(path)) {
          const prefix = path.toLowerCase() + "/";
          return json(200, { value: [...store].filter(([id]) => id.startsWith(prefix)).map(([, r]) => r) });
        }
        if (method === "GET") {
          const found = store.get(path.toLowerCase());
          return found ? json(200, found) : armError(404, "ResourceNotFound", path);
        }
        if (method === "PUT") {
          const { created, resource } = r === "publicIPAddresses"
            ? model.putPublicIP(path, body as never)
            : r === "loadBalancers"
            ? model.putLoadBalancer(path, body as never)
            : model.putNatGateway(path, body as never);
          return accepted(url, r, method, created, resource, path);
        }
        if (method === "DELETE") {
          if (!store.has(path.toLowerCase())) return json(204, undefined);
          if (r === "publicIPAddresses") model.deletePublicIP(path);
          else if (r === "loadBalancers") model.deleteLoadBalancer(path);
          else model.deleteNatGateway(path);
          return accepted(url, r, method, false, undefined);
        }
        break;
      }
    }
    return armError(405, "MethodNotAllowed", `${method} not supported on ${route}`);
  }

  function poll(path: string): Response {
    const m = OPERATION.exec(path)!;
    const op = operations.get(m[4]);
    if (!op) return armError(404, "OperationNotFound", m[4]);
    const location = m[3].toLowerCase() === "operationresults";
    if (op.pollsLeft > 0) {
      op.pollsLeft--;
      return location ? json(202, undefined, { "retry-after": "0" }) : json(200, { status: "InProgress" }, {
        "retry-after": "0",
      });
    }
    if (op.failed) return json(200, { status: "Failed", error: op.failed });
    if (location) return op.resultBody === undefined ? json(204, undefined) : json(200, op.resultBody);
    return json(200, { status: "Succeeded" });
  }

  return {
    url,
    requests,
    state: () => model.snapshot(),
    setMode(route, mode) {
      if (route === "*") { for (const r of WRITE_ROUTES) modes.set(r, mode); }
      else modes.set(route, mode);
    },
    script(list) {
      faults.push(...list.map((f) => ({ ...f, left: f.times ?? 1, skip: f.after ?? 0 })));
    },
    pendingFaults: () => faults.reduce((n, f) => n + f.left, 0),
    pendingLateWrites: () => lateTimers.size,
    tamper: (fn) => fn(model),
    async close() {
      closed = true;
      for (const id of lateTimers) clearTimeout(id);
      lateTimers.clear();
      for (const release of hung) release();
      hung.clear();
      await server.shutdown();
    },
  };
}

const subRoutes: Record<string, RouteName> = {
  services: "services",
  addressLocations: "addressLocations",
  updateServices: "updateServices",
  updateAddressLocations: "updateAddressLocations",
};
