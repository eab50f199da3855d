// Starts a cluster and never stops it: cluster_test.ts SIGKILLs this process to check orphan clean-up.
import { startCluster } from "../harness/cluster.ts";

const cluster = await startCluster({ quiet: true });
console.log(JSON.stringify({ dataDir: cluster.dataDir, pids: cluster.processes().map((p) => p.pid) }));
setInterval(() => {}, 1 << 30);
