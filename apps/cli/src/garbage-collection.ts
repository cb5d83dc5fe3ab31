import { setFlagsFromString } from 'node:v8';

/** The V8 versions the setting below was measured with (Node.js 24). */
const MEASURED_V8 = /^13\./;

/**
 * Counts the memory outside V8's heap (Buffers: every relayed byte passes through a few) in the
 * heap's overall growth limit, instead of starting a full collection each time it grows by a fixed
 * step. Relaying a stream (a COPY, a large HTTP response, a tunnel download), each process allocates
 * several Buffers per byte relayed and frees them young; with the fixed step, the gateway marked its
 * whole heap (~80 MB of live objects) several times a second for them: its V8 worker threads spent
 * 40–45 % of a core (more than its main thread) on concurrent marking and sweeping during a
 * `COPY ... TO STDOUT` through the PostgreSQL listener. Measured with it (docs/benchmarks.md): the
 * gateway's CPU 71–74 % → 43–50 % and the COPY 0.36–0.55× → 0.52–0.82× direct, the statement path
 * unchanged, the gateway's peak RSS +40 MiB. V8 reads the flag at each collection, so setting it
 * once the process runs is enough (it cannot go in NODE_OPTIONS).
 *
 * Only on the V8 it was measured with (Node.js 24's 13.x): V8 prints an error for a flag it does
 * not know (Node.js 20's 11.3 has none such), and another V8 may collect differently anyway.
 */
export function tuneGarbageCollection(v8Version: string = process.versions.v8): boolean {
  if (!MEASURED_V8.test(v8Version)) return false;
  setFlagsFromString('--external-memory-accounted-in-global-limit');
  return true;
}
