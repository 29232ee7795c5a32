// Test and benchmark support for the whole workspace; services' src/ never import it. Unit tests
// import '@sluice/testkit/unit' (builders only); tests and benchmarks on real servers import this.
export * from './unit.ts';
export * from './servers.ts';
export * from './free-port.ts';
export * from './repo-paths.ts';
export * from './wait-for.ts';
export * from './service-process.ts';
export * from './nats-server.ts';
export * from './private-server.ts';
export * from './scrape.ts';
export * from './raw-stream.ts';
export * from './reader-process.ts';
export * from './policy-process.ts';
export * from './attributor-harness.ts';
export * from './learner-harness.ts';
export * from './sink-harness.ts';
export * from './local-sluice.ts';
export * from './start-race.ts';
export * from './otlp-receiver-process.ts';
export * from './otlp-agent.ts';
export * from './otel-collector.ts';
export * from './cluster.ts';
