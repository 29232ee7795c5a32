// One raw batch through the attributor, stage by stage, in the order they happen:
//   1 decode             the kernel records (decode.ts)
//   2 learn names        the batch's DNS answers teach the name table, at once and synchronously,
//                        so any later batch on this replica finds them (host-names.ts); shared
//                        with the other replicas meanwhile (dns-name-store.ts)
//   3 resolve identities the cgroups the label cache cannot attribute yet (resolve-identities.ts)
//   4 name               each egress record's destination, locally then from the shared store
//                        (host-names.ts); runs alongside 3: neither needs the other
//   5 render             NDJSON messages grouped by subject (render.ts)
// I/O (the raw message, publishing, acking, counters) stays in raw-consumer.ts.
import type { RawBatchMeta } from '@sluice/contracts';
import { decodeBatch, type DecodedBatch, type Lookup } from './decode.ts';
import type { DnsNames } from './dns-names.ts';
import { learnNames, nameDestinations, type LearnedName, type LearnResult, type SharedNames } from './host-names.ts';
import type { Buffers } from './byte-writer.ts';
import type { Entry } from './identity.ts';
import type { RecordCodec } from './record.ts';
import { renderBatch, type Rendered } from './render.ts';
import { resolveIdentities, type IdentityResolver } from './resolve-identities.ts';

export interface PipelineDeps {
  codec: RecordCodec;
  lookup: Lookup;
  resolver: IdentityResolver;
  names: DnsNames;
  /** The names shared across replicas (absent: this replica's table only). */
  nameStore?: SharedNames & { share(node: string, names: LearnedName[]): Promise<void> };
  maxMessageBytes: number;
  /** Where render's buffers come from (raw-consumer.ts gives each back once its batch is published). */
  buffers?: Buffers;
  /**
   * The label cache's version (LabelCache.version): when it is the same after stage 3 as before,
   * render takes each record's entry from stage 3's lookups instead of looking it up again (the
   * same answers: nothing changed). Absent: render looks every record up.
   */
  lookupVersion?: () => number;
}

export interface AttributedBatch {
  batch: DecodedBatch;
  learned: LearnResult;
  rendered: Rendered;
}

export async function attributeBatch(meta: RawBatchMeta, body: Uint8Array, d: PipelineDeps): Promise<AttributedBatch> {
  const batch = decodeBatch(meta, body, d.codec);
  const learned = learnNames(batch, d.names);
  const sharing = d.nameStore?.share(meta.node, learned.names);
  const version = d.lookupVersion?.();
  const found = version === undefined ? undefined : new Array<Entry | undefined>(batch.records.length);
  const [, hosts] = await Promise.all([resolveIdentities(batch, d.lookup, d.resolver, found), nameDestinations(batch, d.names, d.nameStore)]);
  const rendered = renderBatch(batch, d.lookup, d.maxMessageBytes, hosts.hosts, d.buffers, found && d.lookupVersion!() === version ? found : undefined);
  // Shared before the raw batch is acked, so a replica that gets a later batch can find them. Never rejects.
  await sharing;
  return { batch, learned, rendered };
}
