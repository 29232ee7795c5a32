// Where events are kept, shared by the sink (which writes) and the CLI, bench and tests (which
// read, replay and set up): the document model, the NDJSON store, the OpenSearch writer and setup.
export * from './document.ts';
export * from './parse.ts';
export * from './otel-document.ts';
export * from './writer.ts';
export * from './encoded-docs.ts';
export * from './bulk-result.ts';
export * from './file-store.ts';
export * from './templates.ts';
export * from './ism.ts';
export * from './opensearch-setup.ts';
export * from './opensearch-writer.ts';
export * from './opensearch-client.ts';
export * from './dlq-record.ts';
