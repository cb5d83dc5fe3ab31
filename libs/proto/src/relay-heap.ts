import { setFlagsFromString } from 'node:v8';

/** Heap growing factor (1 + percent/100) for a process that relays tunnel frames. */
export const RELAY_HEAP_GROWING_PERCENT = 300;

/** The V8 versions `--external-memory-accounted-in-global-limit` was measured with (Node.js 24). */
const EXTERNAL_MEMORY_MEASURED_V8 = /^13\./;

let tuned = false;

/**
 * The V8 flags tuneHeapForRelaying sets on a V8 of this version: the growing factor on any, the
 * external memory accounting only on the V8 it was measured with (V8 prints an error for a flag it
 * does not know, as Node.js 20's 11.3 would for it, and another V8 may collect differently anyway).
 */
export function relayHeapFlags(v8Version: string = process.versions.v8): string[] {
  return [
    `--heap-growing-percent=${RELAY_HEAP_GROWING_PERCENT}`,
    ...(EXTERNAL_MEMORY_MEASURED_V8.test(v8Version) ? ['--external-memory-accounted-in-global-limit'] : []),
  ];
}

/**
 * Tunes V8's heap for a process that relays tunnel data (agent, `tollgate connect` / `exec`, and the
 * gateway, whose gRPC server relays every session's frames).
 *
 * Relaying allocates about one fresh Buffer per frame at each step (grpc-js frames every message it
 * sends and reassembles every message it receives), so ~2 GiB of short-lived external memory per
 * GiB relayed. Two collections it set off too often:
 *
 * - The frames that are still queued when a scavenge runs are promoted, and V8 sizes the old
 *   generation of a small heap tightly (limit ≈ 1.3× the ~28 MB a relay keeps live), so those
 *   promotions started a full mark-compact every ~17 MiB relayed: ~60 per GiB, half of the agent's
 *   CPU (perf), 3.1–3.8 s of agent CPU per GiB in bench/suites/tunnel.mjs against 1.1–1.3 s with a
 *   growing factor of 4. The promoted frames are garbage by the time the next mark-compact runs, so
 *   the heap's live size and RSS do not grow; only how often it is collected changes.
 * - Each time the Buffers' memory (outside the heap) grew by a fixed step, V8 started a full
 *   collection for it, concurrent marking of the whole heap on its worker threads, however young the
 *   Buffers were. `--external-memory-accounted-in-global-limit` counts that memory in the heap's
 *   overall growth limit instead. In the gateway (~80 MB of live objects: the API, the store's
 *   client) the V8 worker threads had spent 40–45 % of a core, more than its main thread, during a
 *   `COPY ... TO STDOUT` through the PostgreSQL listener. Measured with it (A/B, docs/benchmarks.md):
 *   1 GiB of COPY 233–256 → 396–422 MiB/s and the gateway's CPU 76 % → 43–46 %; 1 MiB HTTP
 *   responses 325–331 → 645–658 req/s; a 1 GiB tunnel download 399 → 818 MiB/s; statements unchanged.
 *   It costs memory held: the gateway's peak RSS +20–40 MiB over the COPY, and after the tunnel suite's
 *   1 GiB downloads the gateway and the agent held about 110–120 MiB more each.
 *
 * V8 reads these flags whenever it sets the next limit, so setting them at run time takes effect at
 * the next collection (they cannot go in NODE_OPTIONS). Idempotent.
 */
export function tuneHeapForRelaying(): void {
  if (tuned) return;
  tuned = true;
  for (const flag of relayHeapFlags()) setFlagsFromString(flag);
}
