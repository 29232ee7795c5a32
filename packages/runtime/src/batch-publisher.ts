// JetStream publishes for a batch of messages, lean. nats.js's js.publish is a request per message
// (its own reply subscription entry, timer, promise, header object, two Errors and a JSON-parsed
// ack): at hundreds of messages per batch that cost the attributor more than everything else it
// does. Here every message is a core publish whose reply subject sits under one wildcard inbox
// subscription the publisher holds for its life; a batch has one deadline, not a timer per message;
// an ack is scanned, not parsed (pub-ack.ts); and what is not acknowledged by the deadline is
// published again with the same Nats-Msg-Id, so what did get stored is dropped by the stream's
// duplicate window. Resolves only when every message of the batch is acknowledged as stored.
// The batch's messages go to the connection as one buffer of protocol frames (pub-frames.ts).
import { createInbox, type Msg, type MsgHdrs, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import { checkedValue, headerBlock, parsePubAck } from './pub-ack.ts';
import { BufferPool } from './buffer-pool.ts';
import { encodeBatchFrames } from './pub-frames.ts';

export interface BatchMessage {
  subject: string;
  data: Uint8Array;
  /** Nats-Msg-Id: the same message must carry the same id on every publish of it. */
  msgId: string;
  /** This message's own header lines (pub-ack.ts headerLines), after the batch's shared ones. */
  headers?: string;
}

export interface BatchPublisherOptions {
  /** How long one attempt waits for the acks still missing. */
  timeoutMs?: number;
  /** Attempts in all (the first publish included) before the batch fails. */
  attempts?: number;
  /** An ack from another stream is a failure (the subject is captured by the wrong stream). */
  stream?: string;
  /** false: one nats.js publish per message instead of the batch's frames in one buffer (for side-by-side runs). */
  frames?: boolean;
  /** false: a new buffer for each batch's frames instead of one an acknowledged batch gave back (for side-by-side runs). */
  reuseFrames?: boolean;
}

export interface BatchPublished {
  messages: number;
  /** Acknowledged as duplicates: already stored by an earlier publish of the same id. */
  duplicates: number;
  /** Messages published again after a deadline. */
  republished: number;
}

export class BatchPublishError extends Error {
  override name = 'BatchPublishError';
  constructor(
    message: string,
    /** Messages of the batch not acknowledged as stored. */
    readonly unacked: number,
  ) {
    super(message);
  }
}

interface Pending {
  messages: BatchMessage[];
  /** The batch's shared header lines. */
  shared: string;
  /** Each message's header block (message by message only: frames write theirs in place). */
  blocks: Uint8Array[] | undefined;
  replyPrefix: string;
  acked: Uint8Array;
  left: number;
  duplicates: number;
  republished: number;
  attempt: number;
  /** The first attempt's frames (frames mode), message i ending at frameEnds[i]: a republish sends them again from here. */
  frames?: Buffer;
  frameEnds?: Int32Array;
  timer: ReturnType<typeof setTimeout> | undefined;
  resolve: (r: BatchPublished) => void;
  reject: (e: Error) => void;
}

/** nats.js encodes a message's headers by calling encode() on them, nothing else: a block encoded once stands in for a MsgHdrs. */
function preEncoded(block: Uint8Array): MsgHdrs {
  return { encode: () => block } as unknown as MsgHdrs;
}

/**
 * The connection's protocol handler (nats-core's ProtocolHandler): it queues bytes for the socket
 * (sendCommand, what its own publish ends in) and writes what it queued (flushPending). Not part
 * of nats.js's typed API; when a version lacks either, the batch goes message by message.
 */
interface Wire {
  sendCommand(cmd: Uint8Array): void;
  flushPending(): void;
  noMorePublishing?: boolean;
}

function wireOf(nc: NatsConnection): Wire | undefined {
  const p = (nc as unknown as { protocol?: Partial<Wire> }).protocol;
  return typeof p?.sendCommand === 'function' && typeof p.flushPending === 'function' ? (p as Wire) : undefined;
}

export class JetStreamBatchPublisher {
  private readonly inbox = createInbox();
  private readonly sub: Subscription;
  private readonly pending = new Map<number, Pending>();
  private next = 0;
  private readonly timeoutMs: number;
  private readonly attempts: number;
  private readonly wire: Wire | undefined;
  private readonly framePool = new BufferPool();

  constructor(
    private readonly nc: NatsConnection,
    private readonly o: BatchPublisherOptions = {},
  ) {
    this.timeoutMs = o.timeoutMs ?? 5000;
    this.attempts = Math.max(1, o.attempts ?? 2);
    this.wire = o.frames === false ? undefined : wireOf(nc);
    this.sub = nc.subscribe(`${this.inbox}.>`, { callback: (err, msg) => (err ? this.failAll(err.message) : this.onReply(msg)) });
  }

  /**
   * publish() has copied every message's data by the time it returns (frames mode): the caller may
   * reuse what `data` points into. False: nats.js holds on to it until it is written.
   */
  get copiesOnPublish(): boolean {
    return this.wire !== undefined;
  }

  /** Batches awaiting acks. */
  get inflight(): number {
    return this.pending.size;
  }

  /** Publish every message; resolves once each is stored, rejects (BatchPublishError) when one is refused or the attempts run out. `shared`: header lines of all of them. */
  publish(messages: BatchMessage[], shared = ''): Promise<BatchPublished> {
    if (messages.length === 0) return Promise.resolve({ messages: 0, duplicates: 0, republished: 0 });
    const id = this.next++;
    return new Promise<BatchPublished>((resolve, reject) => {
      let blocks: Uint8Array[] | undefined;
      try {
        // The same refusal either way; frames write the blocks themselves (encodeBatchFrames).
        if (this.wire) for (const m of messages) checkedValue('Nats-Msg-Id', m.msgId);
        else blocks = messages.map((m) => headerBlock(shared, m.msgId, m.headers));
      } catch (err) {
        reject(err as Error);
        return;
      }
      const p: Pending = {
        messages,
        shared,
        blocks,
        replyPrefix: `${this.inbox}.${id}.`,
        acked: new Uint8Array(messages.length),
        left: messages.length,
        duplicates: 0,
        republished: 0,
        attempt: 1,
        timer: undefined,
        resolve,
        reject,
      };
      this.pending.set(id, p);
      this.send(id, p);
    });
  }

  /** Stop listening for acks; batches still waiting fail. */
  close(): void {
    this.failAll('publisher closed');
    this.sub.unsubscribe();
  }

  private send(id: number, p: Pending): void {
    try {
      if (this.wire) this.sendFrames(p, this.wire);
      else {
        for (let i = 0; i < p.messages.length; i++) {
          if (p.acked[i]) continue;
          const m = p.messages[i]!;
          this.nc.publish(m.subject, m.data, { reply: p.replyPrefix + i, headers: preEncoded(p.blocks![i]!) });
          if (p.attempt > 1) p.republished++;
        }
      }
    } catch (err) {
      this.fail(id, p, `publish failed: ${(err as Error).message}`);
      return;
    }
    p.timer = setTimeout(() => this.onDeadline(id, p), this.timeoutMs);
  }

  /** The messages not acknowledged yet, as one buffer of frames, written at once (nothing else of the connection's queued between). */
  private sendFrames(p: Pending, wire: Wire): void {
    // What nats.js's publish checks first.
    if (this.nc.isClosed()) throw new Error('the connection is closed');
    if (wire.noMorePublishing) throw new Error('the connection is draining');
    let bytes: Uint8Array;
    if (p.frames === undefined) {
      p.frameEnds = new Int32Array(p.messages.length);
      p.frames = encodeBatchFrames(p.messages, p.shared, p.replyPrefix, this.nc.info?.max_payload ?? Number.MAX_SAFE_INTEGER, (n) => this.framePool.take(n), p.frameEnds);
      bytes = p.frames;
    } else {
      // A republish: the unacknowledged frames, byte for byte as the first time (same reply, same id).
      const parts: Uint8Array[] = [];
      for (let i = 0; i < p.messages.length; i++) if (!p.acked[i]) parts.push(p.frames.subarray(i === 0 ? 0 : p.frameEnds![i - 1]!, p.frameEnds![i]!));
      bytes = Buffer.concat(parts);
      p.republished += parts.length;
    }
    // Written on its own: queued after other buffers, nats.js would copy them all into one first.
    wire.flushPending();
    wire.sendCommand(bytes);
    wire.flushPending();
  }

  private onDeadline(id: number, p: Pending): void {
    p.timer = undefined;
    if (this.pending.get(id) !== p) return;
    if (p.attempt >= this.attempts) {
      this.fail(id, p, `${p.left} of ${p.messages.length} messages not acknowledged within ${this.timeoutMs} ms (${p.attempt} attempts)`);
      return;
    }
    p.attempt++;
    this.send(id, p);
  }

  private onReply(msg: Msg): void {
    // <inbox>.<batch>.<index>
    if (!this.replyIds(msg)) return;
    const id = this.replyBatch;
    const i = this.replyIndex;
    const p = this.pending.get(id);
    // A late ack (the batch is done, or this message was acked by an earlier attempt's reply).
    if (!p || !(i >= 0 && i < p.acked.length) || p.acked[i]) return;
    // Headers only on a reply without a body (a status such as 503): acks have none.
    const ack = parsePubAck(msg.data, msg.data.length === 0 ? msg.headers?.code : undefined);
    if (!ack.ok) {
      this.fail(id, p, `message ${p.messages[i]!.msgId} on ${p.messages[i]!.subject}: ${ack.error}`);
      return;
    }
    if (this.o.stream !== undefined && ack.stream !== this.o.stream) {
      this.fail(id, p, `message ${p.messages[i]!.msgId} on ${p.messages[i]!.subject} was stored by stream ${ack.stream}, not ${this.o.stream}`);
      return;
    }
    p.acked[i] = 1;
    if (ack.duplicate) p.duplicates++;
    if (--p.left === 0) {
      if (p.timer) clearTimeout(p.timer);
      this.pending.delete(id);
      // Every frame was acked, so the server read them all: the socket holds none of these bytes
      // any more. Not after a republish: then some acks may have come from the copy, and these
      // bytes may still wait in the connection's queue (a reconnect) for all anyone knows.
      if (p.frames && p.attempt === 1 && this.o.reuseFrames !== false) this.framePool.give(p.frames);
      p.resolve({ messages: p.messages.length, duplicates: p.duplicates, republished: p.republished });
    }
  }

  private replyBatch = 0;
  private replyIndex = 0;

  /**
   * The batch and index a reply subject names, into replyBatch / replyIndex; false when it names
   * none. Read from the subject's bytes where nats.js keeps them (its Msg's `_msg.subject`), so
   * no string is decoded for each ack; from the subject string when a version keeps them elsewhere.
   */
  private replyIds(msg: Msg): boolean {
    const from = this.inbox.length + 1;
    const raw = (msg as unknown as { _msg?: { subject?: unknown } })._msg?.subject;
    if (!(raw instanceof Uint8Array)) {
      const tail = msg.subject.slice(from);
      const dot = tail.indexOf('.');
      if (dot <= 0) return false;
      this.replyBatch = Number(tail.slice(0, dot));
      this.replyIndex = Number(tail.slice(dot + 1));
      return true;
    }
    const n = raw.length;
    let k = from;
    let id = 0;
    for (; k < n && raw[k] !== 0x2e; k++) {
      const d = raw[k]! - 0x30;
      if (d < 0 || d > 9) return false;
      id = id * 10 + d;
    }
    if (k === from || k >= n - 1) return false;
    let i = 0;
    for (k++; k < n; k++) {
      const d = raw[k]! - 0x30;
      if (d < 0 || d > 9) return false;
      i = i * 10 + d;
    }
    this.replyBatch = id;
    this.replyIndex = i;
    return true;
  }

  private fail(id: number, p: Pending, why: string): void {
    if (p.timer) clearTimeout(p.timer);
    this.pending.delete(id);
    p.reject(new BatchPublishError(why, p.left));
  }

  private failAll(why: string): void {
    for (const [id, p] of [...this.pending]) this.fail(id, p, why);
  }
}
