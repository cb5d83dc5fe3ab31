import { createHash, randomBytes } from 'node:crypto';
import { Injectable } from '@nestjs/common';

/** A device login in progress: the IdP's device_code behind the gateway's own. */
interface DeviceLogin {
  readonly upstreamDeviceCode: string;
  readonly expires: number;
}

/**
 * Device logins (RFC 8628) the gateway relays to the IdP. Held in memory (like browser logins): a
 * headless login must poll the replica that started it.
 */
@Injectable()
export class DeviceLoginsService {
  private readonly logins = new Map<string, DeviceLogin>();

  start(upstreamDeviceCode: string, expiresInSeconds: number): string {
    const now = Date.now();
    for (const [k, v] of this.logins) if (v.expires <= now) this.logins.delete(k);
    const code = randomBytes(32).toString('base64url');
    this.logins.set(hash(code), { upstreamDeviceCode, expires: now + expiresInSeconds * 1000 });
    return code;
  }

  find(code: string): string | undefined {
    const login = this.logins.get(hash(code));
    return login && login.expires > Date.now() ? login.upstreamDeviceCode : undefined;
  }

  finish(code: string): void {
    this.logins.delete(hash(code));
  }
}

function hash(value: string): string {
  return createHash('sha256').update(value).digest('hex');
}
