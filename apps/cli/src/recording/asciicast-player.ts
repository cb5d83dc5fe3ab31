import type { AsciicastEvent } from '@tollgate/audit';

export interface PlayOptions {
  /** Playback speed: 2 plays twice as fast. */
  readonly speed: number;
  /** Longest pause replayed, in recorded seconds (asciinema's idle_time_limit); none: as recorded. */
  readonly maxIdle?: number;
  /** Stepped: wait for `next()` before each burst of output instead of the recorded pause. */
  readonly step: boolean;
  readonly write: (data: string) => void;
  readonly sleep: (ms: number) => Promise<void>;
  /** Stepped playback: resolves when the viewer asks for the next step (Enter); false: stop. */
  readonly next: () => Promise<boolean>;
}

/** Output events closer than this (recorded seconds) form one step. */
export const STEP_GAP_SECONDS = 0.3;

/**
 * Replays a recording's output (`o` events) in a terminal: at the recorded pace scaled by `speed`
 * with pauses capped at `maxIdle`, or stepped, one burst of output per `next()`. Input events are
 * not replayed (a terminal echoes what was typed, so it is already in the output); resizes cannot
 * be replayed in the viewer's terminal.
 */
export async function playAsciicast(events: readonly AsciicastEvent[], options: PlayOptions): Promise<void> {
  let previous = 0;
  let first = true;
  for (const event of events) {
    if (event.code !== 'o') continue;
    const gap = Math.max(0, event.time - previous);
    previous = event.time;
    if (options.step) {
      if (first || gap >= STEP_GAP_SECONDS) {
        if (!(await options.next())) return;
      }
    } else {
      const idle = options.maxIdle === undefined ? gap : Math.min(gap, options.maxIdle);
      const ms = (idle * 1000) / options.speed;
      if (ms >= 1) await options.sleep(ms);
    }
    first = false;
    options.write(event.data);
  }
}
