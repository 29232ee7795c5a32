// A service whose start leaves a promise rejection nobody handles, a moment after it is ready:
// service.int.test.ts checks that runService stops it (exit 1) instead of logging and running on.
import { z } from 'zod';
import { runService } from '../src/service.ts';

await runService({
  name: 'rejecting',
  env: { REJECT_AFTER_MS: z.coerce.number().int().nonnegative().default(200) },
  defaultMetricsPort: 0,
  start: async ({ config, log }) => {
    setTimeout(() => void Promise.reject(new Error('a loop nobody supervises failed')), config.REJECT_AFTER_MS);
    return { stop: [{ name: 'own step', run: () => log.info('own stop step ran') }] };
  },
});
