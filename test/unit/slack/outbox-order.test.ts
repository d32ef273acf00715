import { describe, expect, it } from 'vitest';
import { mergeNotification } from '../../../alerts/merge-group.ts';
import { payload } from '../../helpers/fakes.ts';
import { createOutboxHarness, settle } from './outbox-harness.ts';

/*
 * The order a channel's deliveries go in (store.ts, nextMessagePerChannel: first posts before
 * edits, oldest first; a group's detail message right after its message) must survive the store
 * reading one row per channel (issue 11), also when a channel is gated while work arrives for it.
 */
describe('Outbox: the order within a channel while it is gated', () => {
  it('after a hanging call, first posts go oldest first and before the edits that waited with them', async () => {
    const h = createOutboxHarness();
    const early = h.addGroup('early', 'C1');
    h.addGroup('other', 'C2');
    await h.outbox.deliverDue();
    expect(h.slack.calls.map((call) => call.text)).toEqual(['early: 1 firing', 'other: 1 firing']);

    // C1's next call hangs: the channel is gated while an edit and two new groups arrive for it.
    h.clock.advance(1000);
    h.addGroup('first-new', 'C1');
    h.slack.scriptChannel('C1', { hold: true });
    h.outbox.pass();
    await settle();
    expect(h.slack.held.map((call) => call.channel)).toEqual(['C1']);
    h.store.updateGroupState(early, mergeNotification(h.store.groupById(early)!.state, payload('early', [{ fingerprint: 'b' }])).state, h.clock.now());
    h.addGroup('second-new', 'C1');
    h.addGroup('more-other', 'C2');
    for (let i = 0; i < 3; i++) {
      h.clock.advance(1000);
      h.outbox.pass();
      await settle();
    }
    // C2 is not held up by C1; C1 made no second call while its first hung (a held call is recorded when it settles).
    expect(h.slack.held).toHaveLength(1);
    expect(h.slack.calls.map((call) => call.text)).toEqual(['early: 1 firing', 'other: 1 firing', 'more-other: 1 firing']);

    h.slack.held[0]!.release();
    await settle();
    await h.drain();
    const c1 = h.slack.calls.filter((call) => call.channel === 'C1').map((call) => [call.method, call.text]);
    expect(c1).toEqual([
      ['chat.postMessage', 'early: 1 firing'],
      ['chat.postMessage', 'first-new: 1 firing'],
      ['chat.postMessage', 'second-new: 1 firing'],
      ['chat.update', 'early: 2 firing'],
    ]);
  });

  it('a group held for enrichment lets later groups and edits go, and posts when its hold ends', async () => {
    const h = createOutboxHarness();
    const posted = h.addGroup('posted', 'C1');
    await h.outbox.deliverDue();
    const start = h.clock.now();
    const held = h.addGroup('held', 'C1');
    h.store.requestEnrichment(held, { a: 'x' }, start + 5000);
    h.addGroup('later', 'C1');
    h.store.updateGroupState(posted, mergeNotification(h.store.groupById(posted)!.state, payload('posted', [{ fingerprint: 'b' }])).state, start);
    h.clock.advance(1000);
    await h.drain();
    expect(h.slack.calls.map((call) => [call.at - start, call.text])).toEqual([
      [0, 'posted: 1 firing'],
      [1000, 'later: 1 firing'],
      [2000, 'posted: 2 firing'],
      [5000, 'held: 1 firing'],
    ]);
  });
});
