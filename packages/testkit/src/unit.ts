// The part of the testkit unit tests use: builders and generated files, no servers and no server
// clients, so a unit test file loads in a fraction of the time the whole kit takes.
export * from './kernel-records.ts';
export * from './raw-batches.ts';
export * from './events.ts';
export * from './opensearch-infra.ts';
export * from './fake-clock.ts';
export * from './policy-fixtures.ts';
export * from './mutated-events.ts';
export * from './line-mutations.ts';
export * from './seeded.ts';
