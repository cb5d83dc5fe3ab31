import { parseAsciicast } from '@tollgate/audit/asciicast';
import { useEffect, useMemo, useState } from 'react';
import { TerminalScreen } from '../lib/terminal-screen';

/** Plays an asciicast v2 recording (an SSH shell, a Kubernetes exec): play, pause, speed, seek. */
export function TerminalPlayer({ recording }: { recording: string }) {
  const parsed = useMemo(() => parseAsciicast(recording), [recording]);
  const duration = parsed.ok ? (parsed.events.at(-1)?.time ?? 0) : 0;
  const [time, setTime] = useState(0);
  const [playing, setPlaying] = useState(false);
  const [speed, setSpeed] = useState(1);

  useEffect(() => {
    if (!playing) return;
    const step = 0.05;
    const timer = setInterval(() => {
      setTime((t) => {
        const next = Math.min(duration, t + step * speed);
        if (next >= duration) setPlaying(false);
        return next;
      });
    }, step * 1000);
    return () => clearInterval(timer);
  }, [playing, speed, duration]);

  const screen = useMemo(() => {
    if (!parsed.ok) return '';
    const terminal = new TerminalScreen(parsed.header.width, parsed.header.height);
    for (const event of parsed.events) {
      if (event.time > time) break;
      if (event.code === 'o') terminal.write(event.data);
    }
    return terminal.text();
  }, [parsed, time]);

  if (!parsed.ok) {
    return (
      <p className="note note-error">
        The recording cannot be read (line {parsed.line}: {parsed.message}).
      </p>
    );
  }
  return (
    <div className="player">
      <pre
        className="terminal"
        role="region"
        tabIndex={0}
        aria-label={`Terminal at ${time.toFixed(1)} seconds`}
      >
        {screen}
      </pre>
      <div className="player-controls">
        <button
          type="button"
          onClick={() => {
            if (time >= duration) setTime(0);
            setPlaying((p) => !p);
          }}
        >
          {playing ? 'Pause' : 'Play'}
        </button>
        <label>
          Position
          <input
            type="range"
            min={0}
            max={duration}
            step={0.1}
            value={time}
            aria-valuetext={`${time.toFixed(1)} of ${duration.toFixed(1)} seconds`}
            onChange={(e) => setTime(Number(e.target.value))}
          />
        </label>
        <label>
          Speed
          <select value={speed} onChange={(e) => setSpeed(Number(e.target.value))}>
            <option value={1}>1×</option>
            <option value={2}>2×</option>
            <option value={4}>4×</option>
            <option value={8}>8×</option>
          </select>
        </label>
        <span className="muted">
          {time.toFixed(1)} / {duration.toFixed(1)} s
        </span>
      </div>
    </div>
  );
}
