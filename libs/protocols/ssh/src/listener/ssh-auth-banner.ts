import { createRequire } from 'node:module';
import type { AuthContext } from 'ssh2';

/**
 * ssh2 sends a USERAUTH_BANNER only once, before authentication starts, from a fixed string; a
 * refusal's reason is known only later. This sends one from an authentication context, through the
 * protocol object and packet writer ssh2 1.17.0 keeps private (the version is pinned in
 * package.json, and ssh-auth-banner.spec.ts fails when it moves). The only file that touches them.
 */
export const SSH2_VERSION_FOR_BANNER = '1.17.0';

const USERAUTH_BANNER = 53;

interface PacketWriter {
  readonly allocStart: number;
  alloc(size: number): Buffer;
  finalize(packet: Buffer): Buffer;
}

interface ProtocolInternals {
  readonly _packetRW: { readonly write: PacketWriter };
}

const requireInternal = createRequire(__filename);
const { sendPacket } = requireInternal('ssh2/lib/protocol/utils.js') as {
  sendPacket: (protocol: ProtocolInternals, packet: Buffer) => void;
};

/** Shows `message` to the person at the client (OpenSSH prints banners at LogLevel INFO and up). */
export function sendAuthBanner(context: AuthContext, message: string): void {
  const protocol = (context as unknown as { _protocol?: ProtocolInternals })._protocol;
  if (!protocol?._packetRW) return;
  const text = message.endsWith('\r\n') ? message : `${message.replace(/\n?$/, '')}\r\n`;
  const length = Buffer.byteLength(text);
  const writer = protocol._packetRW.write;
  let p = writer.allocStart;
  const packet = writer.alloc(1 + 4 + length + 4);
  packet[p] = USERAUTH_BANNER;
  packet.writeUInt32BE(length, ++p);
  packet.write(text, (p += 4), length, 'utf8');
  packet.writeUInt32BE(0, p + length);
  sendPacket(protocol, writer.finalize(packet));
}
