// One OpenSearch client for everything Sluice points at a cluster (the sink, `sluice replay
// --to-sink`, `sluice policy test --source opensearch`): OPENSEARCH_URL names one or several
// nodes, comma-separated. The client's pool round-robins requests over the nodes it believes alive,
// marks a node that refused or dropped a connection dead (pinged back to life later), and retries
// such a request on another node. Sniffing stays off: behind compose or a proxy the addresses nodes
// publish are not the ones a client can reach.
import { Client } from '@opensearch-project/opensearch';

export interface OpenSearchTarget {
  /** OPENSEARCH_URL: `http(s)://host:port`, several comma-separated. */
  url: string;
  username?: string | undefined;
  password?: string | undefined;
}

export function openSearchHosts(url: string): string[] {
  const hosts = url.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (hosts.length === 0) throw new Error('OPENSEARCH_URL names no host');
  for (const h of hosts) if (!/^https?:\/\/\S+$/.test(h)) throw new Error(`OPENSEARCH_URL: ${JSON.stringify(h)} is not an http(s):// URL`);
  return hosts;
}

export function openSearchClient(t: OpenSearchTarget): Client {
  return new Client({
    nodes: openSearchHosts(t.url),
    ...(t.username ? { auth: { username: t.username, password: t.password ?? '' } } : {}),
  });
}

/**
 * Retries a request may take, for failover only: one per other node. A request that failed on
 * every node is the caller's to back off (the sink's pipeline), never the client's to storm.
 */
export function failoverRetries(url: string): number {
  return openSearchHosts(url).length - 1;
}
