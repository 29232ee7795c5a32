// node tcp-connects.mjs HOST PORT N: N sequential plain TCP connects (connect, then close), the way a
// non-HTTP client reaches a host. Inside srt, whose sandbox has no network of its own, the only way
// out is its proxy: when http(s)_proxy/ALL_PROXY is set (srt sets it), each connect is an HTTP
// CONNECT through it; outside, a direct connect. Prints {"ok":n,"failed":n,"ms":elapsed}.
// Plain JavaScript, no imports from the workspace: it must start the same inside either sandbox.
import net from 'node:net';

const [host, port, n] = [process.argv[2], Number(process.argv[3]), Number(process.argv[4] ?? 1000)];
const proxyUrl = process.env.ALL_PROXY || process.env.all_proxy || process.env.HTTPS_PROXY || process.env.https_proxy || '';
const proxy = proxyUrl.startsWith('http://') ? new URL(proxyUrl) : undefined;

function direct() {
  return new Promise((res) => {
    const s = net.connect({ host, port }, () => {
      s.destroy();
      res(true);
    });
    s.on('error', () => res(false));
  });
}

function viaProxy() {
  return new Promise((res) => {
    const s = net.connect({ host: proxy.hostname, port: Number(proxy.port) }, () => {
      const auth = proxy.username ? `Proxy-Authorization: Basic ${Buffer.from(`${decodeURIComponent(proxy.username)}:${decodeURIComponent(proxy.password)}`).toString('base64')}\r\n` : '';
      s.write(`CONNECT ${host}:${port} HTTP/1.1\r\nHost: ${host}:${port}\r\n${auth}\r\n`);
    });
    let head = '';
    s.on('data', (d) => {
      head += d.toString('latin1');
      if (!head.includes('\r\n')) return;
      s.destroy();
      res(/^HTTP\/1\.[01] 200/.test(head));
    });
    s.on('error', () => res(false));
    s.on('close', () => res(false));
  });
}

const one = proxy ? viaProxy : direct;
const t0 = process.hrtime.bigint();
let ok = 0;
for (let i = 0; i < n; i++) if (await one()) ok++;
const ms = Number(process.hrtime.bigint() - t0) / 1e6;
console.log(JSON.stringify({ ok, failed: n - ok, ms, proxied: Boolean(proxy) }));
