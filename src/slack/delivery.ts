import type { GroupState } from '../../alerts/group-state.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics.ts';
import type { DetailRecord, GroupRecord, NoticeRecord, ReplyRecord, Store } from '../state/store.ts';
import type { ChannelFallback } from './channel-fallback.ts';
import type { DeliveryCalls } from './delivery-calls.ts';
import type { OutgoingMessage } from './slack-api.ts';

/** A message as rendered for Slack: the text (notifications, plain-text fallback) and its blocks. */
export interface RenderedMessage {
  text: string;
  blocks: NonNullable<OutgoingMessage['blocks']>;
}

/** One piece of outbox work for one channel: what to send, and where. */
export type Delivery =
  /** Post or edit a group's message; `fallbackFrom` = posted to the default channel instead of this one. */
  | { kind: 'message'; record: GroupRecord; target: string; fallbackFrom?: string }
  /** Post a group's message, living in the default channel, in its own channel now that Lookout may. */
  | { kind: 'move'; record: GroupRecord; target: string }
  | { kind: 'reply'; record: ReplyRecord; target: string }
  | { kind: 'notice'; record: NoticeRecord; target: string; fallbackFrom?: string }
  | { kind: 'detail'; record: DetailRecord; target: string };

export type DeliveryOf<Kind extends Delivery['kind']> = Extract<Delivery, { kind: Kind }>;

/** A delivery with a Slack call under way. */
export interface Flight {
  delivery: Delivery;
  /**
   * When its current Slack call started: a delivery can make several (history pages, the post,
   * a plain-text retry), each with the client's own timeout, so the deadline counts from the latest.
   */
  callStartedAt: number;
  /** Past the outbox's deadline: its channel was freed and whatever it returns later is ignored. */
  abandoned: boolean;
}

/** The group a delivery works on (its message or its detail message), if any. */
export function groupOf(delivery: Delivery): number | undefined {
  if (delivery.kind === 'message' || delivery.kind === 'move') return delivery.record.id;
  if (delivery.kind === 'detail') return delivery.record.groupId;
  return undefined;
}

/**
 * The channels a delivery needs to itself (several replicas: their leases): where it goes, and
 * the channel its record belongs to, so that one replica at a time works on a group or a notice
 * even while it goes to the default channel instead.
 */
export function channelsOf(delivery: Delivery): string[] {
  const home = delivery.record.channel;
  return home === delivery.target ? [home] : [home, delivery.target];
}

/** What the delivery of each kind (deliver-*.ts) works with. */
export interface DeliveryDeps {
  store: Store;
  calls: DeliveryCalls;
  fallback: ChannelFallback;
  /** The group's message from its latest state (and the record's enrichment). */
  render: (state: GroupState, record: GroupRecord) => RenderedMessage;
  /** The group's thread detail message; undefined when there is nothing to show. */
  renderDetail: (detail: DetailRecord) => RenderedMessage | undefined;
  /** See OutboxOptions.onMessageShown. */
  onMessageShown: (record: GroupRecord, channel: string) => void;
  metrics: Metrics;
  log: Logger;
  now: () => number;
}
