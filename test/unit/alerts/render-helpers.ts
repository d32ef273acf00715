import { readFileSync } from 'node:fs';
import type { types as slack } from '@slack/bolt';
import { expect } from 'vitest';
import type { GroupState } from '../../../alerts/group-state.ts';
import { mergeNotification } from '../../../alerts/merge-group.ts';
import { alertmanagerPayloadSchema } from '../../../alerts/payload.ts';
import { LINK_ACTION_PREFIX, type SlackMessage } from '../../../alerts/render.ts';

/*
 * What the rendering tests share: fixture groups, and Slack's limits checked on every block a
 * message can hold.
 */

const fixtures = new URL('../../fixtures/alertmanager/', import.meta.url);

/** A fixture, parsed through the schema so it cannot drift, folded into a group as Lookout folds it. */
export function groupOf(name: string): GroupState {
  const payload = alertmanagerPayloadSchema.parse(JSON.parse(readFileSync(new URL(`${name}.json`, fixtures), 'utf8')));
  return mergeNotification(undefined, payload).state;
}

/** Slack's documented limits for the blocks Lookout's messages use, plus its undocumented total. */
export function expectWithinSlackLimits(message: SlackMessage): void {
  expect(message.blocks.length).toBeLessThanOrEqual(50);
  expect(message.text.length).toBeGreaterThan(0);
  expect(message.text.length).toBeLessThanOrEqual(4000);
  let total = message.text.length;
  for (const block of message.blocks) {
    switch (block.type) {
      case 'header':
        expect(block.text.text.length).toBeGreaterThan(0);
        expect(block.text.text.length).toBeLessThanOrEqual(150);
        total += block.text.text.length;
        break;
      case 'section':
        expect(block.text !== undefined || (block.fields ?? []).length > 0).toBe(true);
        if (block.text) {
          expect(block.text.text.length).toBeGreaterThan(0);
          expect(block.text.text.length).toBeLessThanOrEqual(3000);
          total += block.text.text.length;
        }
        expect((block.fields ?? []).length).toBeLessThanOrEqual(10);
        for (const field of block.fields ?? []) {
          expect(field.text.length).toBeGreaterThan(0);
          expect(field.text.length).toBeLessThanOrEqual(2000);
          total += field.text.length;
        }
        break;
      case 'actions':
        expect(block.elements.length).toBeLessThanOrEqual(25);
        for (const element of block.elements as slack.Button[]) {
          expect(element.type).toBe('button');
          // Buttons that act (alerts/alert-buttons.ts) carry a value, never a link.
          if (!(element.action_id ?? '').startsWith(LINK_ACTION_PREFIX)) {
            expect(element.url).toBeUndefined();
            expect(element.value?.length ?? 0).toBeLessThanOrEqual(2000);
            continue;
          }
          // Link buttons: the app acknowledges clicks on them by this prefix.
          expect(element.action_id).toMatch(new RegExp(`^${LINK_ACTION_PREFIX}`));
          expect(element.text.text.length).toBeLessThanOrEqual(75);
          expect(element.url?.length ?? 0).toBeLessThanOrEqual(3000);
          expect(element.url).toMatch(/^https?:\/\//);
          total += element.url?.length ?? 0;
        }
        break;
      case 'context':
        expect(block.elements.length).toBeLessThanOrEqual(10);
        for (const element of block.elements) {
          if (element.type !== 'mrkdwn') continue;
          expect(element.text.length).toBeLessThanOrEqual(3000);
          total += element.text.length;
        }
        break;
      default:
        throw new Error(`unexpected block type ${block.type}`);
    }
  }
  // Not a documented limit: Slack answers msg_blocks_too_long for messages around 13k characters.
  expect(total).toBeLessThan(12_000);
}
