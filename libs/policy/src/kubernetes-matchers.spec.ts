import { describe, expect, it } from 'vitest';
import { decideCommand, type CommandContext } from './command.engine';
import type { KubernetesCommandFacts } from './command-facts';
import { parsePolicy } from './parse-policy';

const context: CommandContext = {
  subject: { subject: 'user:alice', groups: [], actorChain: [] },
  connection: { name: 'k8s', protocol: 'kubernetes', tags: {} },
  readOnly: false,
};

const policy = (yaml: string) => {
  const parsed = parsePolicy(`version: 1\nguardrails:\n${yaml}`, 'policy.yaml');
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
  return parsed.policy;
};

const decide = (yaml: string, facts: Omit<KubernetesCommandFacts, 'kind'>) =>
  decideCommand(policy(yaml), context, { kind: 'kubernetes', ...facts }).decision;

describe('kubernetes matchers: groups, names and RBAC verbs', () => {
  const byGroup = `  - name: no-apps-writes\n    deny: {kubernetes: {groups: [apps], verbs: [delete]}}\n`;
  const core = `  - name: core-only\n    deny: {kubernetes: {groups: [""], resources: [pods]}}\n`;
  const byName = `  - name: keep-root\n    deny: {kubernetes: {resources: [secrets], names: [root-*]}}\n`;
  const rbac = `  - name: no-exec\n    deny: {kubernetes: {verbs: [create], resources: [pods/exec]}}\n`;

  it('groups match the API group; "" is the core group; non-resource URLs belong to none', () => {
    expect(decide(byGroup, { verb: 'delete', group: 'apps', resource: 'deployments', name: 'x' })).toBe(
      'deny',
    );
    expect(decide(byGroup, { verb: 'delete', group: '', resource: 'pods', name: 'x' })).toBe('allow');
    expect(decide(core, { verb: 'get', group: '', resource: 'pods', name: 'x' })).toBe('deny');
    expect(decide(core, { verb: 'get', group: 'metrics.k8s.io', resource: 'pods' })).toBe('allow');
    expect(decide(byGroup, { verb: 'delete' })).toBe('allow');
  });

  it('names match the object; a request without a name (list, watch) spans every name and is caught', () => {
    expect(decide(byName, { verb: 'get', group: '', resource: 'secrets', name: 'root-ca' })).toBe('deny');
    expect(decide(byName, { verb: 'get', group: '', resource: 'secrets', name: 'app' })).toBe('allow');
    expect(decide(byName, { verb: 'list', group: '', resource: 'secrets' })).toBe('deny');
  });

  it('an RBAC-style rule (create pods/exec) catches exec over WebSocket, which the engine names exec', () => {
    const exec = { verb: 'exec', group: '', resource: 'pods', subresource: 'exec', name: 'w' };
    expect(decide(rbac, { ...exec, rbacVerbs: ['get', 'create'] })).toBe('deny');
    expect(decide(`  - name: no-exec\n    deny: {kubernetes: {verbs: [exec]}}\n`, exec)).toBe('deny');
    expect(decide(rbac, { verb: 'get', group: '', resource: 'pods', name: 'w' })).toBe('allow');
  });
});
