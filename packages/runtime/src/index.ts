export * from './config.ts';
export * from './logger.ts';
export * from './metrics.ts';
export * from './health.ts';
export * from './nats.ts';
export * from './jetstream.ts';
export * from './shutdown.ts';
export * from './service.ts';
