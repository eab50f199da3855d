/** The e2e tests' ConfigMap that enables the Azure backend against the project's ARM emulator. */
import type { KubeObject } from "../../core/kube/types.ts";
import { CONTROLLER_NS } from "./_env.ts";

/** zen-lead's ConfigMap with the azure-servicegateway plugin pointed at the emulator at `armUrl`. */
export function azureBackendConfigMap(armUrl: string): KubeObject & { data: Record<string, string> } {
  return {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name: "zen-lead-config", namespace: CONTROLLER_NS },
    data: {
      "config.yaml": [
        "plugins:",
        "  - name: azure-servicegateway",
        "    options:",
        "      subscriptionId: sub",
        "      resourceGroup: rg",
        "      serviceGatewayName: sgw",
        "      virtualNetworkName: vnet",
        "      location: westeurope",
        `      armEndpoint: ${armUrl}`,
        "      credential: { type: staticToken, token: test-token }",
        "      timeouts: { pollIntervalMs: 10, orphanGraceMs: 300 }",
        "",
      ].join("\n"),
    },
  };
}
