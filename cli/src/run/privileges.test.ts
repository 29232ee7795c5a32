import { describe, expect, it } from 'vitest';
import { agentArgv, parsePasswd, resolveRunAs } from './privileges.ts';

const passwd = parsePasswd('root:x:0:0:root:/root:/bin/bash\n# comment\nalice:x:1000:1000::/home/alice:/bin/sh\nnobody:x:65534:65534::/:/usr/sbin/nologin\n');

describe('sluice run privileges', () => {
  it('runs as the sudo caller, with their passwd name for the groups', () => {
    expect(resolveRunAs(undefined, { SUDO_UID: '1000', SUDO_GID: '1000' }, passwd)).toEqual({ uid: 1000, gid: 1000, user: 'alice' });
  });

  it('stays as is without sudo, and for sudo from root', () => {
    expect(resolveRunAs(undefined, {}, passwd)).toBeUndefined();
    expect(resolveRunAs(undefined, { SUDO_UID: '0' }, passwd)).toBeUndefined();
  });

  it('--user wins over sudo, by name or uid; an unknown one is an error naming it', () => {
    expect(resolveRunAs('nobody', { SUDO_UID: '1000' }, passwd)).toEqual({ uid: 65534, gid: 65534, user: 'nobody' });
    expect(resolveRunAs('1000', {}, passwd)).toMatchObject({ user: 'alice' });
    expect(() => resolveRunAs('mallory', {}, passwd)).toThrow(/--user mallory: no such user/);
  });

  it('drops the escape capabilities from bounding and ambient, with no_new_privs', () => {
    const argv = agentArgv(['curl', 'x'], { uid: 1000, gid: 1000, user: 'alice' });
    expect(argv).toEqual([
      'setpriv',
      '--no-new-privs',
      '--bounding-set=-sys_admin,-net_admin,-net_raw,-bpf,-sys_ptrace,-sys_module',
      '--inh-caps=-sys_admin,-net_admin,-net_raw,-bpf,-sys_ptrace,-sys_module',
      '--ambient-caps=-all',
      '--reuid=1000',
      '--regid=1000',
      '--init-groups',
      '--',
      'curl',
      'x',
    ]);
    expect(agentArgv(['true'], undefined)).not.toContain('--reuid=0');
  });

  it('with the helper, runs the whole chain under its nobpf seccomp wrapper, started first (as root)', () => {
    const argv = agentArgv(['curl', 'x'], undefined, { nobpf: '/opt/sluice-bpf' });
    expect(argv.slice(0, 4)).toEqual(['/opt/sluice-bpf', 'nobpf', '--', 'setpriv']);
    expect(argv.slice(3)).toEqual(agentArgv(['curl', 'x'], undefined));
  });
});
