import { randomBytes, randomInt } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { LoginStateStore } from '../oidc/login-state.store';
import { secretHash, secretMatches } from '../secrets';

/** A device login the gateway runs itself (RFC 8628), for identity providers without a device grant. */
interface GatewayDeviceLogin {
  readonly secretHash: string;
  readonly userCode: string;
  readonly state: 'pending' | 'approved' | 'denied';
  readonly userId?: string;
  readonly reason?: string;
  readonly lastPollAt?: number;
}

export type GatewayDevicePoll =
  | { readonly state: 'unknown' }
  | { readonly state: 'pending'; readonly tooFast: boolean }
  | { readonly state: 'approved'; readonly userId: string }
  | { readonly state: 'denied'; readonly reason: string };

/** Marks device codes issued by the gateway itself (the OIDC relay hands out the IdP's own). */
export const GATEWAY_DEVICE_CODE_MARK = 'tgd_';
export const DEVICE_LOGIN_TTL_SECONDS = 600;
export const DEVICE_POLL_INTERVAL_SECONDS = 5;
/** No vowels, no look-alikes: nothing spelled by accident, easy to type from another screen. */
const USER_CODE_ALPHABET = 'BCDFGHJKLMNPQRSTVWXZ';

/**
 * Device logins completed through the gateway's own verification page (`/auth/device`), used with
 * SAML. The device code is `tgd_<id>.<secret>`: the store keeps the id and the secret's hash; the
 * user code maps to the id only.
 */
@Injectable()
export class SamlDeviceLoginsService {
  constructor(private readonly states: LoginStateStore) {}

  async start(): Promise<{ deviceCode: string; userCode: string }> {
    const id = randomBytes(12).toString('base64url');
    const secret = randomBytes(32).toString('base64url');
    const userCode = Array.from(
      { length: 8 },
      () => USER_CODE_ALPHABET[randomInt(USER_CODE_ALPHABET.length)],
    ).join('');
    const ttl = DEVICE_LOGIN_TTL_SECONDS * 1000;
    await this.states.put(
      'gateway-device',
      id,
      { secretHash: secretHash(secret), userCode, state: 'pending' } satisfies GatewayDeviceLogin,
      ttl,
    );
    await this.states.put('gateway-device-user-code', userCode, { deviceId: id }, ttl);
    return {
      deviceCode: `${GATEWAY_DEVICE_CODE_MARK}${id}.${secret}`,
      userCode: `${userCode.slice(0, 4)}-${userCode.slice(4)}`,
    };
  }

  /** The pending device login a user code names, if any (case and dashes do not matter). */
  async findByUserCode(userCode: string): Promise<string | undefined> {
    const normalized = normalizeUserCode(userCode);
    if (!normalized) return undefined;
    const entry = await this.states.peek<{ deviceId: string }>('gateway-device-user-code', normalized);
    if (!entry) return undefined;
    const login = await this.states.peek<GatewayDeviceLogin>('gateway-device', entry.deviceId);
    return login?.state === 'pending' ? entry.deviceId : undefined;
  }

  async settle(deviceId: string, outcome: { userId: string } | { reason: string }): Promise<void> {
    const login = await this.states.peek<GatewayDeviceLogin>('gateway-device', deviceId);
    if (!login || login.state !== 'pending') return;
    await this.states.replace('gateway-device', deviceId, {
      ...login,
      ...('userId' in outcome
        ? { state: 'approved', userId: outcome.userId }
        : { state: 'denied', reason: outcome.reason }),
    } satisfies GatewayDeviceLogin);
    await this.states.remove('gateway-device-user-code', login.userCode);
  }

  async poll(deviceCode: string): Promise<GatewayDevicePoll> {
    const match = /^tgd_([A-Za-z0-9_-]{16})\.([A-Za-z0-9_-]{43})$/.exec(deviceCode);
    if (!match) return { state: 'unknown' };
    const [, id, secret] = match as unknown as [string, string, string];
    const login = await this.states.peek<GatewayDeviceLogin>('gateway-device', id);
    if (!login || !secretMatches(secret, login.secretHash)) return { state: 'unknown' };
    if (login.state === 'pending') {
      const now = Date.now();
      await this.states.replace('gateway-device', id, { ...login, lastPollAt: now });
      const tooFast =
        login.lastPollAt !== undefined && now - login.lastPollAt < (DEVICE_POLL_INTERVAL_SECONDS - 1) * 1000;
      return { state: 'pending', tooFast };
    }
    // Settled: the answer is given once.
    if (!(await this.states.take('gateway-device', id))) return { state: 'unknown' };
    return login.state === 'approved'
      ? { state: 'approved', userId: login.userId! }
      : { state: 'denied', reason: login.reason ?? 'the login was refused' };
  }
}

export function normalizeUserCode(value: string): string | undefined {
  const code = value.toUpperCase().replace(/[\s-]/g, '');
  return /^[BCDFGHJKLMNPQRSTVWXZ]{8}$/.test(code) ? code : undefined;
}
