import { describe, expect, it } from 'vitest';
import { checkSlackBody } from '../../../src/slack/check-slack-body.ts';
import { interactivityBody, SLACK_FORM_CONTENT_TYPE, slashCommandBody } from '../../support/sign-slack-request.ts';

const form = (body: string) => checkSlackBody(Buffer.from(body), SLACK_FORM_CONTENT_TYPE);
const json = (value: unknown, contentType = 'application/json') => checkSlackBody(Buffer.from(JSON.stringify(value)), contentType);

/** Only bodies of the shapes Slack sends reach Bolt; the rest are named, never echoed. */
describe('checkSlackBody', () => {
  it.each([
    ['a slash command', form(slashCommandBody({ text: 'help' }))],
    ['a button click', form(interactivityBody({ type: 'block_actions', user: { id: 'U1' }, team: { id: 'T1' }, actions: [{ action_id: 'ack' }] }))],
    ['a click on an org-wide install (team null)', form(interactivityBody({ type: 'block_actions', user: { id: 'U1', team_id: 'T1' }, team: null, enterprise: null, actions: [] }))],
    ['a view submission', form(interactivityBody({ type: 'view_submission', user: { id: 'U1' }, view: { id: 'V1' } }))],
    ["Slack's ssl_check", form('ssl_check=1&token=x')],
    ['an Events API url_verification', json({ type: 'url_verification', challenge: 'c' })],
    ['an Events API event', json({ type: 'event_callback', team_id: 'T1', event: { type: 'app_mention', channel: 'C1' } })],
  ])('lets %s through', (_name, problem) => {
    expect(problem).toBeUndefined();
  });

  it.each([
    ['form payload=null', form('payload=null'), 'form field `payload` must be a JSON object, not null'],
    ['JSON null', json(null), 'the JSON body must be a JSON object, not null'],
    ['JSON null as text/plain', json(null, 'text/plain'), 'the JSON body must be a JSON object, not null'],
    ['a JSON array', json([]), 'the JSON body must be a JSON object, not an array'],
    ['a JSON number', json(1), 'the JSON body must be a JSON object, not a number'],
    ['form payload twice', form('payload=%7B%7D&payload=%7B%7D'), 'form field `payload` is given more than once'],
    ['form payload not JSON', form('payload=%7B'), 'form field `payload` is not valid JSON'],
    ['no type', json({ event: { type: 'x' } }), 'the JSON body has no string `type`'],
    ['a click with user null', form(interactivityBody({ type: 'block_actions', user: null, actions: [] })), 'form field `payload`: `user` must be an object, not null'],
    ['a click naming no workspace', form(interactivityBody({ type: 'shortcut', callback_id: 'x' })), 'form field `payload` names no workspace: no `team` or `user` object'],
    ['team as a string', form(interactivityBody({ type: 'block_actions', team: 'T1', user: { id: 'U1' } })), 'form field `payload`: `team` must be an object or null, not a string'],
    ['actions of nulls', form(interactivityBody({ type: 'block_actions', user: { id: 'U1' }, actions: [null] })), 'form field `payload`: `actions` must be a list of objects'],
    ['a view submission without view', form(interactivityBody({ type: 'view_submission', user: { id: 'U1' } })), 'form field `payload`: a view_submission has no `view` object'],
    ['an event without type', json({ type: 'event_callback', event: {} }), 'the JSON body: `event` has no string `type`'],
    ['an event with a numeric channel', json({ type: 'event_callback', event: { type: 'x', channel: 1 } }), 'the JSON body: `event.channel` must be a string or an object'],
    ['a form without command or payload', form('text=help'), 'a form without `payload` must be a slash command (a `command` field)'],
    ['a repeated command', form('command=%2Fops&command=%2Fops'), 'form field `command` is given more than once'],
    ['a form sent with a charset (Bolt reads it as JSON)', checkSlackBody(Buffer.from('payload=null'), `${SLACK_FORM_CONTENT_TYPE}; charset=utf-8`), 'the body is not valid JSON (content type "application/x-www-form-urlencoded; charset=utf-8"; Slack\'s forms are application/x-www-form-urlencoded)'],
    ['invalid JSON with an odd content type', checkSlackBody(Buffer.from('{'), 'x/<script>'), 'the body is not valid JSON (content type unusual; Slack\'s forms are application/x-www-form-urlencoded)'],
    ['a field name that is not echoed', form('%3Cb%3E=1&%3Cb%3E=2'), 'form field `(unusual name)` is given more than once'],
  ])('names %s', (_name, problem, expected) => {
    expect(problem).toBe(expected);
  });
});
