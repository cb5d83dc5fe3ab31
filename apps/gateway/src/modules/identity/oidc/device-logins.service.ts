import { randomBytes } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { LoginStateStore } from './login-state.store';

interface DeviceLogin {
  readonly upstreamDeviceCode: string;
}

/** Device logins (RFC 8628) the gateway relays to the IdP: the IdP's device_code behind the gateway's own. */
@Injectable()
export class DeviceLoginsService {
  constructor(private readonly states: LoginStateStore) {}

  async start(upstreamDeviceCode: string, expiresInSeconds: number): Promise<string> {
    const code = randomBytes(32).toString('base64url');
    await this.states.put(
      'device',
      code,
      { upstreamDeviceCode } satisfies DeviceLogin,
      expiresInSeconds * 1000,
    );
    return code;
  }

  async find(code: string): Promise<string | undefined> {
    return (await this.states.peek<DeviceLogin>('device', code))?.upstreamDeviceCode;
  }

  finish(code: string): Promise<void> {
    return this.states.remove('device', code);
  }
}
