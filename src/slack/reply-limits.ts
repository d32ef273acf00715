import type { Button, ConfirmationDialog, KnownBlock } from '@slack/types';

/** Slack's documented Block Kit limits that interactive replies can reach. */
export const BLOCK_LIMITS = {
  blocksPerMessage: 50,
  elementsPerActions: 25,
  buttonText: 75,
  buttonValue: 2000,
  actionId: 255,
  confirmTitle: 100,
  confirmText: 300,
  confirmButton: 30,
} as const;

/** Cuts plain text to `max` characters (code points), ending in "…" when cut. */
export function clip(text: string, max: number): string {
  const chars = [...text];
  return chars.length <= max ? text : `${chars.slice(0, max - 1).join('')}…`;
}

/** A Block Kit confirm dialog with every text within Slack's limits. */
export function confirmDialog({ title, text, confirm, deny = 'Cancel', style }: { title: string; text: string; confirm: string; deny?: string; style?: 'danger' | 'primary' }): ConfirmationDialog {
  return {
    title: { type: 'plain_text', text: clip(title, BLOCK_LIMITS.confirmTitle) },
    text: { type: 'plain_text', text: clip(text, BLOCK_LIMITS.confirmText) },
    confirm: { type: 'plain_text', text: clip(confirm, BLOCK_LIMITS.confirmButton) },
    deny: { type: 'plain_text', text: clip(deny, BLOCK_LIMITS.confirmButton) },
    ...(style ? { style } : {}),
  };
}

/** A button within Slack's limits; throws on a value or action_id Slack would refuse (a bug). */
export function button({ actionId, text, value, style, confirm }: { actionId: string; text: string; value?: string; style?: 'danger' | 'primary'; confirm?: ConfirmationDialog }): Button {
  if (actionId.length > BLOCK_LIMITS.actionId) throw new Error(`action_id "${actionId.slice(0, 40)}…" is longer than Slack's ${BLOCK_LIMITS.actionId} characters`);
  if (value !== undefined && value.length > BLOCK_LIMITS.buttonValue) throw new Error(`the value of button ${actionId} is longer than Slack's ${BLOCK_LIMITS.buttonValue} characters`);
  return {
    type: 'button',
    action_id: actionId,
    text: { type: 'plain_text', text: clip(text, BLOCK_LIMITS.buttonText) },
    ...(value !== undefined ? { value } : {}),
    ...(style ? { style } : {}),
    ...(confirm ? { confirm } : {}),
  };
}

/**
 * What in these blocks Slack would refuse (too many blocks, too many elements in an actions
 * block, a button value too long); [] when nothing. Checked before a reply goes out, so a bug
 * shows as a log line and a text-only reply rather than as Slack's `invalid_blocks`.
 */
export function blockProblems(blocks: readonly KnownBlock[]): string[] {
  const problems: string[] = [];
  if (blocks.length > BLOCK_LIMITS.blocksPerMessage) problems.push(`${blocks.length} blocks (Slack allows ${BLOCK_LIMITS.blocksPerMessage})`);
  for (const block of blocks) {
    if (block.type !== 'actions') continue;
    if (block.elements.length > BLOCK_LIMITS.elementsPerActions) problems.push(`an actions block with ${block.elements.length} elements (Slack allows ${BLOCK_LIMITS.elementsPerActions})`);
    for (const element of block.elements) {
      if (element.type === 'button' && (element.value?.length ?? 0) > BLOCK_LIMITS.buttonValue) problems.push(`button ${element.action_id ?? '?'} has a value over ${BLOCK_LIMITS.buttonValue} characters`);
    }
  }
  return problems;
}
