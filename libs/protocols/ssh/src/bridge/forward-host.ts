import { isIPv6 } from 'node:net';

/**
 * A forwarding host as the target's sshd will reach it, so that policy decides (and the target is
 * asked for) one spelling of each address: IPv4 in inet_aton's other forms (`2130706433`, `0x7f.1`,
 * `0177.0.0.1`, `127.1`, which getaddrinfo accepts) as a dotted quad, IPv6 compressed and lower
 * case, an IPv4-mapped IPv6 address as its IPv4 address, a host name in lower case without a
 * trailing dot. Names are not resolved: what a name points at is the resolver's (docs/policy.md).
 */
export function canonicalForwardHost(host: string): string {
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  const name = bare.toLowerCase().replace(/\.$/, '');
  const v4 = inetAton(name);
  if (v4 !== undefined) return v4;
  if (isIPv6(name)) {
    let canonical: string;
    try {
      canonical = new URL(`http://[${name}]/`).hostname.slice(1, -1);
    } catch {
      return name; // a zone index (fe80::1%eth0)
    }
    const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(canonical);
    if (mapped) return inetAton(String(parseInt(mapped[1]!, 16) * 65536 + parseInt(mapped[2]!, 16)))!;
    return canonical;
  }
  return name;
}

/** inet_aton: one to four parts, each decimal, octal (leading 0) or hex (0x); the last fills the rest. */
function inetAton(text: string): string | undefined {
  const parts = text.split('.');
  if (parts.length > 4) return undefined;
  const values: number[] = [];
  for (const part of parts) {
    let value: number;
    if (/^0x[0-9a-f]+$/.test(part)) value = parseInt(part.slice(2), 16);
    else if (/^0[0-7]*$/.test(part)) value = parseInt(part, 8);
    else if (/^[1-9][0-9]*$/.test(part)) value = parseInt(part, 10);
    else return undefined;
    values.push(value);
  }
  const last = values.pop()!;
  if (values.some((v) => v > 255) || last >= 2 ** (8 * (4 - values.length))) return undefined;
  let address = last;
  values.forEach((v, i) => (address += v * 2 ** (8 * (3 - i))));
  return [24, 16, 8, 0].map((shift) => Math.floor(address / 2 ** shift) % 256).join('.');
}
