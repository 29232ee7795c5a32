// A service's /metrics, read the way Prometheus reads it; the values through the one Prometheus
// text parser (@sluice/runtime), which the CLI's status uses too.
import { metricValue } from '@sluice/runtime';

export { metricValue };

export async function scrape(port: number): Promise<string> {
  const r = await fetch(`http://127.0.0.1:${port}/metrics`);
  return r.text();
}

/** The sum of one metric's samples on the service at `port` whose labels include `labels`. */
export async function scrapeValue(port: number, name: string, labels: Record<string, string> = {}): Promise<number> {
  return metricValue(await scrape(port), name, labels);
}
