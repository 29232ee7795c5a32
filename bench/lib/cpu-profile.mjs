// Preload (`NODE_OPTIONS=--import <this>`) that CPU-profiles a service from start to exit, since
// Node 20 refuses --cpu-prof in NODE_OPTIONS. The .cpuprofile lands in $SLUICE_CPU_PROFILE_DIR.
// The main-thread inspector session answers synchronously, so stopping on 'exit' works.
import { Session } from 'node:inspector';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = process.env.SLUICE_CPU_PROFILE_DIR;
if (dir) {
  const session = new Session();
  session.connect();
  session.post('Profiler.enable');
  session.post('Profiler.setSamplingInterval', { interval: 500 });
  session.post('Profiler.start');
  process.on('exit', () => {
    session.post('Profiler.stop', (err, res) => {
      if (!err) writeFileSync(join(dir, `${process.cwd().split("/").pop()}-${process.pid}.cpuprofile`), JSON.stringify(res.profile));
    });
  });
}
