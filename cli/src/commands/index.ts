// The command table. Each command lives in its own file; add one line here per command.
import type { Command } from '../command.ts';
import { doctor } from './doctor.ts';
import { events } from './events.ts';
import { identity } from './identity.ts';
import { learn } from './learn.ts';
import { policy } from './policy.ts';
import { down } from './down.ts';
import { replay } from './replay.ts';
import { run } from './run.ts';
import { status } from './status.ts';
import { tail } from './tail.ts';
import { up } from './up.ts';
import { why } from './why.ts';

export const commands: Command[] = [run, up, down, status, doctor, tail, events, why, replay, learn, policy, identity];
