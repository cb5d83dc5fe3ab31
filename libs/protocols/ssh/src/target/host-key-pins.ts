import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { normalizeFingerprint } from './host-key-fingerprint';

/**
 * Host keys an agent learned by trust on first use, one line per connection and address:
 * `<connection> <host>:<port> SHA256:...`. A pin, once written, is what later sessions are held to;
 * the file is the agent's alone (another agent serving the same connection keeps its own, so an
 * operator who wants one pin everywhere puts it in the connection's `hostKeyFingerprint`).
 */
export interface HostKeyPins {
  get(connection: string, address: string): string | undefined;
  /** Records the first key seen; throws when the pin cannot be kept (fail closed). */
  pin(connection: string, address: string, fingerprint: string): void;
}

/** Pins kept in memory only (tests, and agents configured without a pin file lose them on restart). */
export class MemoryHostKeyPins implements HostKeyPins {
  private readonly pins = new Map<string, string>();

  get(connection: string, address: string): string | undefined {
    return this.pins.get(`${connection} ${address}`);
  }

  pin(connection: string, address: string, fingerprint: string): void {
    this.pins.set(`${connection} ${address}`, fingerprint);
  }
}

/** Pins in a file, re-read on every look-up (another agent process may not share it, but an operator may edit it). */
export class FileHostKeyPins implements HostKeyPins {
  constructor(private readonly path: string) {}

  get(connection: string, address: string): string | undefined {
    return this.read().get(`${connection} ${address}`);
  }

  pin(connection: string, address: string, fingerprint: string): void {
    const pins = this.read();
    pins.set(`${connection} ${address}`, fingerprint);
    const text = [...pins].map(([key, value]) => `${key} ${value}\n`).join('');
    mkdirSync(dirname(this.path), { recursive: true, mode: 0o700 });
    const temporary = `${this.path}.${process.pid}.tmp`;
    writeFileSync(temporary, text, { mode: 0o600 });
    renameSync(temporary, this.path);
  }

  private read(): Map<string, string> {
    let text: string;
    try {
      text = readFileSync(this.path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return new Map();
      throw error;
    }
    const pins = new Map<string, string>();
    for (const line of text.split('\n')) {
      const [connection, address, fingerprint] = line.trim().split(/\s+/);
      const canonical = fingerprint ? normalizeFingerprint(fingerprint) : undefined;
      if (connection && address && canonical) pins.set(`${connection} ${address}`, canonical);
    }
    return pins;
  }
}
