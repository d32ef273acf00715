import type { App } from '@slack/bolt';
import type { Logger } from '../log.ts';
import { parseButtonClick, parseViewSubmission, type ButtonClick, type ViewSubmission } from './interaction-payloads.ts';

/**
 * A button Lookout handles, by its action_id. Called after Slack was acknowledged: it may take
 * its time, except that a modal must be opened (views.open) before anything slow, because the
 * click's trigger_id expires 3 s after the click.
 */
export interface ButtonHandler {
  actionId: string;
  handle(click: ButtonClick): Promise<void>;
}

/** Errors to show next to the modal's inputs (block_id → message); undefined closes the modal. */
export type ViewAnswer = { errors: Record<string, string> } | undefined;

/**
 * A modal's submission, by the view's callback_id. `submit` answers Slack (within its 3 s, so
 * in-memory checks only) and may return the slow rest of the work as `after`, run once Slack
 * has its answer.
 */
export interface ViewHandler {
  callbackId: string;
  submit(submission: ViewSubmission): Promise<{ answer: ViewAnswer; after?: () => Promise<void> }>;
}

/**
 * Every interactive element Lookout answers: buttons by action_id, modals by callback_id. One
 * registry, so alert-message buttons, confirmations of typed commands and modals share one way
 * in (acknowledge first, verified payload, one error path) and no feature plumbs Bolt itself.
 */
export class InteractionRegistry {
  private readonly buttons = new Map<string, ButtonHandler>();
  private readonly views = new Map<string, ViewHandler>();

  button(handler: ButtonHandler): this {
    if (this.buttons.has(handler.actionId)) throw new Error(`two handlers for the button action_id "${handler.actionId}"`);
    this.buttons.set(handler.actionId, handler);
    return this;
  }

  view(handler: ViewHandler): this {
    if (this.views.has(handler.callbackId)) throw new Error(`two handlers for the modal callback_id "${handler.callbackId}"`);
    this.views.set(handler.callbackId, handler);
    return this;
  }

  buttonHandler(actionId: string): ButtonHandler | undefined {
    return this.buttons.get(actionId);
  }

  viewHandler(callbackId: string): ViewHandler | undefined {
    return this.views.get(callbackId);
  }

  /** Registers every handler with Bolt (slack-request-guard.ts verified the request's signature before Bolt got it). */
  register(app: Pick<App, 'action' | 'view'>, log: Logger): void {
    for (const handler of this.buttons.values()) {
      app.action(handler.actionId, async ({ ack, body }) => {
        await ack();
        const click = parseButtonClick(body, handler.actionId);
        if (click === undefined) {
          log.warn({ action: handler.actionId }, 'click without a message container or user; ignored');
          return;
        }
        try {
          await handler.handle(click);
        } catch (error) {
          log.error({ err: error, action: handler.actionId }, 'button handler failed');
        }
      });
    }
    for (const handler of this.views.values()) {
      app.view(handler.callbackId, async ({ ack, body }) => {
        const submission = parseViewSubmission(body);
        if (submission === undefined) {
          await ack();
          log.warn({ callbackId: handler.callbackId }, 'modal submission without a user or state; closed');
          return;
        }
        let result: Awaited<ReturnType<ViewHandler['submit']>>;
        try {
          result = await handler.submit(submission);
        } catch (error) {
          await ack();
          log.error({ err: error, callbackId: handler.callbackId }, 'modal handler failed');
          return;
        }
        await ack(result.answer ? { response_action: 'errors', errors: result.answer.errors } : undefined);
        try {
          await result.after?.();
        } catch (error) {
          log.error({ err: error, callbackId: handler.callbackId }, 'modal handler failed after closing the modal');
        }
      });
    }
  }
}
