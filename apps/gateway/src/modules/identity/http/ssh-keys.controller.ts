import { Body, Controller, Delete, Get, HttpCode, Param, Post } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { ForbiddenError, NotFoundError } from '../../../common/errors';
import { ValidationPipe } from '../../../common/validation/validation.pipe';
import { AuditWriter } from '../../audit/audit-writer';
import { AccessDecider } from '../access-decider';
import { holdsOwnCredential, type Principal } from '../principal';
import { SshKeysService, type SshKeyView } from '../ssh-keys/ssh-keys.service';
import { Authenticated } from './access.decorators';
import { CurrentPrincipal } from './current-principal.decorator';

const registerSshKey = z
  .object({
    /** One OpenSSH public key line: `ssh-ed25519 AAAA... comment` (the .pub file). */
    publicKey: z.string().min(1).max(16_384),
    /** Default: the key's comment, else its type. */
    name: z.string().min(1).max(100).optional(),
  })
  .strict();

/**
 * SSH public keys of the caller, for public-key login at the gateway's SSH listener
 * (`ssh -i KEY -p 8022 CONNECTION@gateway`). Each key is shown with its SHA256 fingerprint; adding
 * and removing are audited. Admins may list and remove every key.
 */
@ApiTags('ssh-keys')
@Authenticated()
@Controller('api/v1/ssh-keys')
export class SshKeysController {
  constructor(
    private readonly keys: SshKeysService,
    private readonly decider: AccessDecider,
    private readonly audit: AuditWriter,
  ) {}

  @Post()
  @HttpCode(201)
  @ApiOperation({
    summary: 'Register an OpenSSH public key for yourself (public-key login at the SSH listener)',
  })
  async add(
    @CurrentPrincipal() principal: Principal,
    @Body(ValidationPipe.of(registerSshKey)) body: z.output<typeof registerSshKey>,
  ): Promise<SshKeyView> {
    if (!holdsOwnCredential(principal)) {
      throw new ForbiddenError(
        'SSH keys are registered with your own login or client credentials, not a delegated token or an API key',
      );
    }
    const view = await this.keys.add({
      subject: principal.subject,
      name: body.name,
      publicKey: body.publicKey,
      scopes: principal.scopes,
    });
    await this.audit.record({
      subject: principal.subject,
      action: 'sshkey:add',
      target: `sshkey:${view.fingerprint}`,
      decision: 'allow',
      reason: `SSH key "${view.name}" (${view.algorithm}) registered`,
      payload: { id: view.id, algorithm: view.algorithm, fingerprint: view.fingerprint },
    });
    return view;
  }

  @Get()
  @ApiOperation({ summary: 'Your SSH keys (every user’s for admins)' })
  async list(@CurrentPrincipal() principal: Principal): Promise<{ items: SshKeyView[] }> {
    const all = await this.isAdmin(principal, 'GET /api/v1/ssh-keys');
    return { items: await this.keys.list(all ? undefined : principal.subject) };
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiOperation({ summary: 'Remove (revoke) an SSH key by its id (your own, or any for admins)' })
  async remove(@CurrentPrincipal() principal: Principal, @Param('id') id: string): Promise<void> {
    const key = await this.keys.find(id);
    if (!key) throw new NotFoundError('SSH key', id);
    const resource = `DELETE /api/v1/ssh-keys/${id}`;
    if (key.subject !== principal.subject && !(await this.isAdmin(principal, resource))) {
      throw new NotFoundError('SSH key', id);
    }
    if (
      key.subject === principal.subject &&
      !holdsOwnCredential(principal) &&
      !(await this.isAdmin(principal, resource))
    ) {
      await this.audit.record({
        subject: principal.subject,
        actorChain: principal.actorChain,
        action: 'sshkey:remove',
        target: `sshkey:${key.fingerprint}`,
        decision: 'deny',
        reason: `${principal.tokenId.startsWith('apikey:') ? 'an API key' : 'a delegated token'} cannot remove an SSH key of its owner`,
      });
      throw new ForbiddenError(
        'SSH keys are removed with your own login or client credentials, not a delegated token or an API key',
      );
    }
    await this.keys.remove(id);
    await this.audit.record({
      subject: principal.subject,
      actorChain: principal.actorChain,
      action: 'sshkey:remove',
      target: `sshkey:${key.fingerprint}`,
      decision: 'allow',
      reason: `SSH key "${key.name}" of ${key.subject} removed`,
      payload: { id: key.id, algorithm: key.algorithm, fingerprint: key.fingerprint, owner: key.subject },
    });
  }

  private async isAdmin(principal: Principal, resource: string): Promise<boolean> {
    return (await this.decider.decide({ principal, verb: 'admin', resource })).allowed;
  }
}
