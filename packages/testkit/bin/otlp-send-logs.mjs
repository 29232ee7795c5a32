#!/usr/bin/env node
// A real OTLP client, nobody here wrote it: the OpenTelemetry JS SDK's LoggerProvider with its
// standard OTLP/HTTP protobuf log exporter, sending log records the way Claude Code's telemetry
// looks (a user_prompt event carrying its prompt, an api_request with cost and tokens). Runs inside
// an agent container in the e2e test (node from the sluice/base:node image, this checkout mounted),
// so the receiver sees the container's own source IP. No agent/project resource attributes.
//   OTLP_LOGS_URL=http://…/v1/logs SERVICE_NAME=claude-code COUNT=3 node otlp-send-logs.mjs
// Prints one JSON line on stdout: { sent, exportResult }.
import { OTLPLogExporter } from '@opentelemetry/exporter-logs-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchLogRecordProcessor, LoggerProvider } from '@opentelemetry/sdk-logs';

const url = process.env.OTLP_LOGS_URL;
if (!url) throw new Error('OTLP_LOGS_URL is not set');
const count = Number(process.env.COUNT ?? '3');
const tag = process.env.TAG ?? 'e2e';
const resourceAttributes = { 'service.name': process.env.SERVICE_NAME ?? 'claude-code', 'service.version': '2.0.1' };
if (process.env.RESOURCE_AGENT) resourceAttributes['dev.clawker.agent'] = process.env.RESOURCE_AGENT;

const exporter = new OTLPLogExporter({ url });
const provider = new LoggerProvider({
  resource: resourceFromAttributes(resourceAttributes),
  processors: [new BatchLogRecordProcessor(exporter, { maxExportBatchSize: 512, scheduledDelayMillis: 50 })],
});
const logger = provider.getLogger('com.anthropic.claude_code.events', '2.0.1');
for (let i = 0; i < count; i++) {
  logger.emit({
    body: 'claude_code.user_prompt',
    severityNumber: 9,
    severityText: 'INFO',
    attributes: { 'event.name': 'user_prompt', 'session.id': `${tag}-session`, prompt: `SECRET PROMPT ${tag} ${i}`, prompt_length: 17, seq: i },
  });
  logger.emit({
    body: 'claude_code.api_request',
    severityNumber: 9,
    attributes: { 'event.name': 'api_request', 'session.id': `${tag}-session`, model: 'claude-sonnet-4', cost_usd: 0.0125, input_tokens: 1200, output_tokens: 345, seq: i },
  });
}
await provider.forceFlush();
await provider.shutdown();
process.stdout.write(JSON.stringify({ sent: count * 2 }) + '\n');
