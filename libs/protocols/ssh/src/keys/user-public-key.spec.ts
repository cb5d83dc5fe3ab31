import { createHash } from 'node:crypto';
import { utils } from 'ssh2';
import { describe, expect, it } from 'vitest';
import { generateEd25519KeyPair } from './ed25519-key-pair';
import { parseUserPublicKey, PublicKeyFormatError, verifyPublicKeySignature } from './user-public-key';

const ed25519 = generateEd25519KeyPair('alice@laptop');
const ecdsa = utils.generateKeyPairSync('ecdsa', { bits: 256 });
const rsa = utils.generateKeyPairSync('rsa', { bits: 2048 });

function refusal(text: string): string {
  try {
    parseUserPublicKey(text);
  } catch (error) {
    expect(error).toBeInstanceOf(PublicKeyFormatError);
    return (error as Error).message;
  }
  throw new Error('accepted');
}

describe('parseUserPublicKey', () => {
  it('reads an OpenSSH public key line with its comment and the fingerprint ssh-keygen prints', () => {
    const key = parseUserPublicKey(`${ed25519.public}\n`);
    const blob = Buffer.from(ed25519.public.split(' ')[1]!, 'base64');
    expect(key).toMatchObject({
      algorithm: 'ssh-ed25519',
      comment: 'alice@laptop',
      fingerprint: `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`,
      text: ed25519.public.split(' ').slice(0, 2).join(' '),
    });
    expect(parseUserPublicKey(ecdsa.public).algorithm).toBe('ecdsa-sha2-nistp256');
    expect(parseUserPublicKey(rsa.public).algorithm).toBe('ssh-rsa');
  });

  it('says what to give instead of a private key, several keys, an SSH2 key or nothing', () => {
    expect(refusal(ed25519.private)).toMatch(/this is a private key: give the public key/);
    expect(refusal(`${ed25519.public}\n${ecdsa.public}`)).toMatch(/expected one public key line, got 2/);
    expect(refusal('---- BEGIN SSH2 PUBLIC KEY ----\nAAAA\n---- END SSH2 PUBLIC KEY ----')).toMatch(
      /ssh-keygen -i/,
    );
    expect(refusal('  \n')).toBe('the public key is empty');
  });

  it('refuses unknown types, options, certificates and security keys by name', () => {
    expect(refusal('ssh-dss AAAAB3NzaC1kc3MAAACBAP')).toMatch(
      /^unknown key type "ssh-dss": expected one of ssh-ed25519/,
    );
    expect(refusal(`from="10.0.0.1" ${ed25519.public}`)).toMatch(/authorized_keys options are not accepted/);
    expect(refusal('ssh-ed25519-cert-v01@openssh.com AAAA')).toMatch(/certificates .* are not supported/);
    expect(refusal('sk-ssh-ed25519@openssh.com AAAA')).toMatch(/security keys .* are not supported yet/);
  });

  it('refuses data that is not base64, not a key, or a key of another type than the line says', () => {
    expect(refusal('ssh-ed25519 not*base64')).toBe('the key data after "ssh-ed25519" is not base64');
    expect(refusal('ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA==')).toBe(
      'the key data is not a valid ssh-ed25519 public key',
    );
    const ecdsaData = ecdsa.public.split(' ')[1]!;
    expect(refusal(`ssh-ed25519 ${ecdsaData}`)).toBe(
      'the line says ssh-ed25519 but its data is a ecdsa-sha2-nistp256 key',
    );
  });

  it('refuses RSA keys under 2048 bits', () => {
    const weak = utils.generateKeyPairSync('rsa', { bits: 1024 });
    expect(refusal(weak.public)).toBe('the RSA key has 1024 bits; at least 2048 are required');
  });
});

describe('verifyPublicKeySignature', () => {
  it('accepts a signature made by the private key and refuses another key or altered data', () => {
    const data = Buffer.from('session id and USERAUTH_REQUEST');
    const signer = utils.parseKey(ed25519.private);
    if (signer instanceof Error || Array.isArray(signer)) throw new Error('no key');
    const signature = signer.sign(data);
    const blob = parseUserPublicKey(ed25519.public).blob;
    expect(verifyPublicKeySignature(blob, data, signature, undefined)).toBe(true);
    expect(verifyPublicKeySignature(blob, Buffer.from('other data'), signature, undefined)).toBe(false);
    expect(verifyPublicKeySignature(parseUserPublicKey(ecdsa.public).blob, data, signature, undefined)).toBe(
      false,
    );
  });
});
