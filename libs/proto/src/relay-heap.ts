import { setFlagsFromString } from 'node:v8';

/** Heap growing factor (1 + percent/100) for a process that relays tunnel frames. */
export const RELAY_HEAP_GROWING_PERCENT = 300;

let tuned = false;

/**
 * Tunes V8's heap for a process that relays tunnel data (agent, `tollgate connect` / `exec`, and the
 * gateway, whose gRPC server relays every session's frames).
 *
 * Relaying allocates about one fresh Buffer per frame at each step (grpc-js frames every message it
 * sends and reassembles every message it receives), so ~2 GiB of short-lived external memory per
 * GiB relayed. The frames that are still queued when a scavenge runs are promoted, and V8 sizes the
 * old generation of a small heap tightly (limit ≈ 1.3× the ~28 MB a relay keeps live), so those
 * promotions started a full mark-compact every ~17 MiB relayed: ~60 per GiB, half of the agent's
 * CPU (perf), 3.1–3.8 s of agent CPU per GiB in bench/suites/tunnel.mjs against 1.1–1.3 s with a
 * growing factor of 4. The promoted frames are garbage by the time the next mark-compact runs, so
 * the heap's live size and RSS do not grow; only how often it is collected changes. The gateway's
 * heap is larger (the API, the store's client) and ran the same full collections under HTTP traffic
 * (1 MiB responses through an http connection: 9 mark-compacts of 45-100 ms in 15 s in one of two
 * untuned runs, none in two tuned ones).
 *
 * V8 reads this flag whenever it sets the next limit, so setting it at run time takes effect at
 * the next collection. Idempotent.
 */
export function tuneHeapForRelaying(): void {
  if (tuned) return;
  tuned = true;
  setFlagsFromString(`--heap-growing-percent=${RELAY_HEAP_GROWING_PERCENT}`);
}
