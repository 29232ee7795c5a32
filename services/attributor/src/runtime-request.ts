// Closing the start race. A container in the managed scope is denied everything until the policy
// service has installed its cgroup's entry (fail closed); an agent whose entrypoint connects at once
// (git clone, npm install) used to meet that window every time. The sluice-runc runtime wrapper
// (infra/runtime/sluice-runc) holds runc's `create` — the process does not exist yet — creates the
// container's cgroup and leaves a request naming it; the attributor announces that cgroup with the
// container's labels, the policy service installs the entry, and the wrapper lets runc go on.
//
// The labels come from Docker's container list, not from inspect: inspect waits for the container's
// lock, which Docker holds for the whole start — the very start the wrapper is holding.

export interface RuntimeRequest {
  containerId: string;
  cgroupPath: string;
  cgroupId: string;
}

/** A request file: `<container id>.req` holding CGROUP_PATH=… and CGROUP_ID=… lines. */
export function parseRuntimeRequest(fileName: string, text: string): RuntimeRequest {
  const m = /^([0-9a-f]{64})\.req$/.exec(fileName);
  if (!m) throw new Error(`${fileName}: not <64-hex container id>.req`);
  const vars: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const kv = /^([A-Z_]+)=(.*)$/.exec(line.trim());
    if (kv) vars[kv[1]!] = kv[2]!;
  }
  const path = vars.CGROUP_PATH ?? '';
  const id = vars.CGROUP_ID ?? '';
  if (!path.startsWith('/') || path.split('/').includes('..')) throw new Error(`${fileName}: CGROUP_PATH ${JSON.stringify(path)} is not an absolute cgroup path`);
  if (!/^[1-9][0-9]{0,19}$/.test(id)) throw new Error(`${fileName}: CGROUP_ID ${JSON.stringify(id)} is not a cgroup id`);
  return { containerId: m[1]!, cgroupPath: path, cgroupId: id };
}
