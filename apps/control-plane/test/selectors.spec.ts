import { describe, expect, it } from 'vitest';
import { matchesFields, matchesLabels } from '../src/selectors.js';

const pod = { metadata: { name: 'web', namespace: 'default', labels: { app: 'web', tier: '' } }, spec: { nodeName: 'node-a' } };

describe('label selectors', () => {
  it('equality, inequality and existence terms must all hold', () => {
    expect(matchesLabels(pod, 'app=web')).toBe(true);
    expect(matchesLabels(pod, 'app==web,tier=')).toBe(true);
    expect(matchesLabels(pod, 'app!=web')).toBe(false);
    expect(matchesLabels(pod, 'app, !zone')).toBe(true);
    expect(matchesLabels(pod, '!app')).toBe(false);
    expect(matchesLabels(pod, 'zone=a')).toBe(false);
    expect(matchesLabels(pod, 'zone!=a')).toBe(true);
  });

  it('an empty or missing selector matches everything', () => {
    expect(matchesLabels(pod, null)).toBe(true);
    expect(matchesLabels(pod, '')).toBe(true);
    expect(matchesLabels({}, ',')).toBe(true);
  });
});

describe('field selectors', () => {
  it('compare dotted paths as text; missing fields read as empty', () => {
    expect(matchesFields(pod, 'metadata.name=web,spec.nodeName=node-a')).toBe(true);
    expect(matchesFields(pod, 'spec.nodeName!=node-a')).toBe(false);
    expect(matchesFields(pod, 'status.phase=')).toBe(true);
  });

  it('ignore terms that are not comparisons', () => {
    expect(matchesFields(pod, 'metadata.name')).toBe(true);
    expect(matchesFields(pod, null)).toBe(true);
  });
});
