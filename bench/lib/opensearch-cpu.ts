// OpenSearch's own CPU time, from its node stats (every node of the cluster at `url`): the JVM's
// process figure, which /proc of a pid we did not start would give too, but for any topology.

/** CPU seconds OpenSearch's node(s) have used so far. */
export async function openSearchCpuSeconds(url: string): Promise<number> {
  const r = await fetch(`${url}/_nodes/stats/process`);
  if (!r.ok) throw new Error(`${url}/_nodes/stats/process answered ${r.status}`);
  const nodes = ((await r.json()) as { nodes: Record<string, { process: { cpu: { total_in_millis: number } } }> }).nodes;
  return Object.values(nodes).reduce((a, n) => a + n.process.cpu.total_in_millis / 1000, 0);
}
