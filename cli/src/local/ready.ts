// One service's /readyz over node:http. `sluice run` asks every service this at each start; fetch()
// would first load undici (tens of ms of Node's start-up budget), node:http is already loaded.
import { get } from 'node:http';

export function readyz(port: number, timeoutMs: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const req = get({ host, port, path: '/readyz', timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => {
        try {
          resolve((JSON.parse(body) as { ready?: boolean }).ready === true);
        } catch {
          resolve(false);
        }
      });
      res.on('error', () => resolve(false));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
  });
}
