import { describe, expect, it } from 'vitest';
import { parseWorkloadTarget } from '../../../src/workloads/workload-words.ts';
import { maxReplicasFor, needsConfirmation, parseScale } from '../../../commands/scale.ts';
import { DEFAULT_COMMAND_SETTINGS } from '../../../commands/command.ts';

describe('/ops scale arguments', () => {
  it.each([
    [['shop/cart', '5'], { target: { kind: 'Deployment', namespace: 'shop', name: 'cart' }, mode: 'replicas', replicas: 5 }],
    [['shop/statefulset/db', '3'], { target: { kind: 'StatefulSet', namespace: 'shop', name: 'db' }, mode: 'replicas', replicas: 3 }],
    [['shop/sts/db', '0'], { target: { kind: 'StatefulSet', namespace: 'shop', name: 'db' }, mode: 'replicas', replicas: 0 }],
    [['-n', 'shop', 'deployment/cart', '--replicas=5'], { target: { kind: 'Deployment', namespace: 'shop', name: 'cart' }, mode: 'replicas', replicas: 5 }],
    [['--namespace=shop', 'deploy/cart', '--replicas', '2'], { target: { kind: 'Deployment', namespace: 'shop', name: 'cart' }, mode: 'replicas', replicas: 2 }],
    [['shop/cart', '--hpa-min', '2', '--hpa-max=8'], { target: { kind: 'Deployment', namespace: 'shop', name: 'cart' }, mode: 'hpa', min: 2, max: 8 }],
  ])('reads %j', (words, expected) => {
    expect(parseScale(words)).toEqual(expected);
  });

  it.each([
    [[], 'needs a workload'],
    [['shop/cart'], 'needs a replica count'],
    [['shop/cart', 'five'], 'is not a replica count'],
    [['shop/cart', '-1'], 'is not a replica count'],
    [['shop/daemonset/agent', '2'], 'is not a kind this command acts on'],
    [['cart', '2'], 'is not a workload'],
    [['Shop/cart', '2'], 'is not a namespace name'],
    [['shop/cart', '2', '--hpa-max', '3'], 'not both'],
    [['shop/cart', '--hpa-min', '5', '--hpa-max', '3'], 'must not be above'],
    [['shop/cart', '2', '--force'], 'unknown option `--force`'],
    [['-n', 'shop', 'deployment/cart', '5', '--replicas=5'], 'give the replica count once'],
  ])('refuses %j naming what is wrong', (words, message) => {
    const parsed = parseScale(words);
    expect(parsed).toHaveProperty('error');
    expect((parsed as { error: string }).error).toContain(message);
  });

  it('asks first when scaling to 0 or down by more than half', () => {
    expect(needsConfirmation(4, 0)).toBe(true);
    expect(needsConfirmation(10, 4)).toBe(true);
    expect(needsConfirmation(10, 5)).toBe(false);
    expect(needsConfirmation(2, 5)).toBe(false);
  });

  it('takes the namespace maximum over the default', () => {
    const settings = { ...DEFAULT_COMMAND_SETTINGS, scale: { maxReplicas: 50, maxReplicasByNamespace: { batch: 200 } } };
    expect(maxReplicasFor(settings, 'batch')).toBe(200);
    expect(maxReplicasFor(settings, 'shop')).toBe(50);
    expect(maxReplicasFor(settings, 'constructor')).toBe(50);
  });
});

describe('/ops restart arguments', () => {
  it.each([
    [['shop/cart'], { kind: 'Deployment', namespace: 'shop', name: 'cart' }],
    [['shop/sts/db'], { kind: 'StatefulSet', namespace: 'shop', name: 'db' }],
    [['shop/daemonset/agent'], { kind: 'DaemonSet', namespace: 'shop', name: 'agent' }],
    [['-n', 'shop', 'ds/agent'], { kind: 'DaemonSet', namespace: 'shop', name: 'agent' }],
  ])('reads %j', (words, target) => {
    expect(parseWorkloadTarget(words)).toEqual({ target });
  });

  it('refuses extra words and unknown kinds', () => {
    expect(parseWorkloadTarget(['shop/cart', 'now'])).toEqual({ error: 'unexpected `now`' });
    expect(parseWorkloadTarget(['shop/job/x'])).toHaveProperty('error');
  });
});
