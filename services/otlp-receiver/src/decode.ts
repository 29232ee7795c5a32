// Request bytes → the decoded OTLP message, for both encodings OTLP/HTTP defines. Protobuf goes
// through the generated decoder; JSON through the generated `fromObject`, after the one place
// where OTLP/JSON departs from protobuf's JSON mapping: trace and span ids are hex, not base64
// (https://opentelemetry.io/docs/specs/otlp/#json-protobuf-encoding). Anything that does not decode
// is a MalformedRequest naming what and where; the caller answers 400.
import { ExportLogsServiceRequest, type PbExportLogsServiceRequest } from './proto.ts';

export class MalformedRequest extends Error {
  override name = 'MalformedRequest';
}

export type Encoding = 'protobuf' | 'json';

export function decodeLogs(body: Uint8Array, encoding: Encoding): PbExportLogsServiceRequest {
  return encoding === 'protobuf' ? decodeProtobuf(body) : decodeJson(body);
}

function decodeProtobuf(body: Uint8Array): PbExportLogsServiceRequest {
  try {
    return ExportLogsServiceRequest.decode(body);
  } catch (err) {
    throw new MalformedRequest(`protobuf: ${(err as Error).message}`);
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function decodeJson(body: Uint8Array): PbExportLogsServiceRequest {
  let value: unknown;
  try {
    value = JSON.parse(utf8.decode(body));
  } catch (err) {
    throw new MalformedRequest(`json: ${(err as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new MalformedRequest('json: the body must be an object');
  hexIdsToBytes(value as Record<string, unknown>);
  try {
    return ExportLogsServiceRequest.fromObject(value);
  } catch (err) {
    throw new MalformedRequest(`json: ${(err as Error).message}`);
  }
}

const HEX_ID = { traceId: 32, spanId: 16 } as const;

/** In place: every logRecord's hex traceId/spanId becomes bytes, as `fromObject` expects. */
function hexIdsToBytes(req: Record<string, unknown>): void {
  const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
  list(req.resourceLogs).forEach((rl, i) =>
    list((rl as Record<string, unknown> | null)?.scopeLogs).forEach((sl, j) =>
      list((sl as Record<string, unknown> | null)?.logRecords).forEach((lr, k) => {
        if (typeof lr !== 'object' || lr === null) return;
        const rec = lr as Record<string, unknown>;
        for (const [field, len] of Object.entries(HEX_ID)) {
          const v = rec[field];
          if (v === undefined || v === null || v === '') {
            delete rec[field];
            continue;
          }
          if (typeof v !== 'string' || v.length !== len || !/^[0-9a-fA-F]+$/.test(v)) {
            throw new MalformedRequest(`json: resourceLogs[${i}].scopeLogs[${j}].logRecords[${k}].${field}: must be ${len} hex digits`);
          }
          rec[field] = Buffer.from(v, 'hex');
        }
      }),
    ),
  );
}
