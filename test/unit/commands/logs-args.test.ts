import { describe, expect, it } from 'vitest';
import { parseLogsArgs } from '../../../commands/logs-args.ts';
import { splitWords } from '../../../src/slack/split-words.ts';

describe('parseLogsArgs', () => {
  const table: Array<[string, object]> = [
    ['shop/cart', { namespace: 'shop', name: 'cart', previous: false }],
    ['shop/cart-7d9f8-abcde', { namespace: 'shop', name: 'cart-7d9f8-abcde', previous: false }],
    ['shop/pod/cart-1', { namespace: 'shop', kind: 'pod', name: 'cart-1', previous: false }],
    ['shop/po/cart-1', { namespace: 'shop', kind: 'pod', name: 'cart-1', previous: false }],
    ['shop/deployment/cart', { namespace: 'shop', kind: 'deployment', name: 'cart', previous: false }],
    ['shop/deploy/cart', { namespace: 'shop', kind: 'deployment', name: 'cart', previous: false }],
    ['shop/sts/db', { namespace: 'shop', kind: 'statefulset', name: 'db', previous: false }],
    ['shop/StatefulSet/db', { namespace: 'shop', kind: 'statefulset', name: 'db', previous: false }],
    ['shop/ds/agent', { namespace: 'shop', kind: 'daemonset', name: 'agent', previous: false }],
    ['-n shop cart-1', { namespace: 'shop', name: 'cart-1', previous: false }],
    ['-n shop deployment/cart', { namespace: 'shop', kind: 'deployment', name: 'cart', previous: false }],
    ['deployment/cart --namespace=shop', { namespace: 'shop', kind: 'deployment', name: 'cart', previous: false }],
    ['shop/cart -c app', { namespace: 'shop', name: 'cart', container: 'app', previous: false }],
    ['shop/cart --container=app', { namespace: 'shop', name: 'cart', container: 'app', previous: false }],
    ['shop/cart --since 15m', { namespace: 'shop', name: 'cart', sinceMs: 900_000, previous: false }],
    ['--since=1h30m shop/cart', { namespace: 'shop', name: 'cart', sinceMs: 5_400_000, previous: false }],
    ['shop/cart --grep timeout', { namespace: 'shop', name: 'cart', grep: 'timeout', previous: false }],
    ['shop/cart --grep "connection refused"', { namespace: 'shop', name: 'cart', grep: 'connection refused', previous: false }],
    ['shop/cart --grep=a=b', { namespace: 'shop', name: 'cart', grep: 'a=b', previous: false }],
    ['shop/cart --previous', { namespace: 'shop', name: 'cart', previous: true }],
    ['shop/cart -p -c app --since 2d --grep panic', { namespace: 'shop', name: 'cart', container: 'app', sinceMs: 172_800_000, grep: 'panic', previous: true }],
  ];
  it.each(table)('%s', (text, expected) => {
    expect(parseLogsArgs(splitWords(text))).toEqual(expected);
  });

  const refused: Array<[string, RegExp]> = [
    ['', /needs what to read/],
    ['cart', /not `<namespace>\/<name>`/],
    ['shop/cart other', /takes one pod or workload/],
    ['Shop/cart', /`Shop` is not a namespace name/],
    ['shop/Cart', /`Cart` is not a pod or workload name/],
    ['shop/job/x', /`job` is not a kind logs can be read from/],
    // Words that name Object properties are no kinds either.
    ['shop/constructor/cart', /`constructor` is not a kind logs can be read from/],
    ['-n shop __proto__/cart', /`__proto__` is not a kind logs can be read from/],
    ['shop/cart toString', /takes one pod or workload/],
    ['constructor shop/cart', /takes one pod or workload/],
    ['shop/cart __proto__=x', /takes one pod or workload/],
    ['a/b/c/d', /is not `<namespace>\/<name>`/],
    ['-n shop a/b/c', /with `-n`/],
    ['shop/cart -c', /`-c` needs a container name/],
    ['shop/cart -c App', /`App` is not a container name/],
    ['shop/cart --since', /`--since` needs a duration/],
    ['shop/cart --since 15', /`--since 15` is not a duration/],
    ['shop/cart --since 15x', /is not a duration/],
    ['shop/cart --since 0s', /more than 0s and at most 7d/],
    ['shop/cart --since 8d', /more than 0s and at most 7d/],
    ['shop/cart --grep', /`--grep` needs the text/],
    [`shop/cart --grep ${'x'.repeat(201)}`, /at most 200 characters/],
    ['shop/cart --since 1m --since 2m', /give `--since` once/],
    ['shop/cart --follow', /unknown option `--follow`/],
    ['shop/cart -f', /unknown option `-f`/],
  ];
  it.each(refused)('refuses %j', (text, message) => {
    expect(parseLogsArgs(splitWords(text))).toMatchObject({ error: expect.stringMatching(message) });
  });
});
