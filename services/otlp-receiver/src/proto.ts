// The OTLP protobuf types, from @opentelemetry/otlp-transformer's code generated (by protobufjs)
// from the official opentelemetry-proto definitions: nothing here knows the wire format. The
// generated module is untyped (`Root`), so the few shapes this service reads are declared below.
// The version is pinned exactly: the generated module is not part of the package's public API.
import generated from '@opentelemetry/otlp-transformer/build/src/generated/root.js';
import protobuf from 'protobufjs';

const root = generated as unknown as GeneratedRoot;

/** A decoded int64/uint64: protobufjs gives a Long when the `long` package is there, else a number. */
export type Int64 = number | { low: number; high: number; unsigned: boolean; toString(): string; toNumber(): number };

export interface PbAnyValue {
  stringValue?: string | null;
  boolValue?: boolean | null;
  intValue?: Int64 | null;
  doubleValue?: number | null;
  arrayValue?: { values?: PbAnyValue[] | null } | null;
  kvlistValue?: { values?: PbKeyValue[] | null } | null;
  bytesValue?: Uint8Array | null;
}
export interface PbKeyValue {
  key?: string | null;
  value?: PbAnyValue | null;
}
export interface PbLogRecord {
  timeUnixNano?: Int64 | null;
  observedTimeUnixNano?: Int64 | null;
  severityNumber?: number | null;
  severityText?: string | null;
  body?: PbAnyValue | null;
  attributes?: PbKeyValue[] | null;
  traceId?: Uint8Array | null;
  spanId?: Uint8Array | null;
  eventName?: string | null;
}
export interface PbExportLogsServiceRequest {
  resourceLogs?: Array<{
    resource?: { attributes?: PbKeyValue[] | null } | null;
    scopeLogs?: Array<{
      scope?: { name?: string | null; version?: string | null } | null;
      logRecords?: PbLogRecord[] | null;
    }> | null;
  }> | null;
}

interface MessageType<T> {
  decode(bytes: Uint8Array): T;
  fromObject(o: object): T;
  encode(m: T): { finish(): Uint8Array };
}

interface GeneratedRoot {
  opentelemetry: {
    proto: {
      collector: {
        logs: {
          v1: {
            ExportLogsServiceRequest: MessageType<PbExportLogsServiceRequest>;
            ExportLogsServiceResponse: MessageType<object>;
          };
        };
      };
    };
  };
}

const v1 = root.opentelemetry.proto.collector.logs.v1;
export const ExportLogsServiceRequest = v1.ExportLogsServiceRequest;
export const ExportLogsServiceResponse = v1.ExportLogsServiceResponse;

/**
 * google.rpc.Status, the body OTLP/HTTP asks for on 4xx/5xx (code, message; no details here).
 * Declared through protobufjs' reflection from its field numbers in google/rpc/status.proto.
 */
export const RpcStatus = new protobuf.Type('Status')
  .add(new protobuf.Field('code', 1, 'int32'))
  .add(new protobuf.Field('message', 2, 'string'));
new protobuf.Root().define('google.rpc').add(RpcStatus);
