import nock from 'nock';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AlertmanagerClient, AlertmanagerError } from '../../../src/integrations/alertmanager.ts';
import { freshMetrics, metricValue } from '../../helpers/fakes.ts';

const AM = 'http://alertmanager.monitoring:9093';
const ID = '8f0c1f9e-3b7a-4c1e-9a56-0f7c2d3e4b5a';
const TOKEN = 'am-bearer-token-do-not-leak';

function client(options: Partial<ConstructorParameters<typeof AlertmanagerClient>[0]> = {}) {
  const metrics = freshMetrics();
  return { metrics, am: new AlertmanagerClient({ baseUrl: AM, requestTimeoutMs: 500, requests: metrics.alertmanagerRequests, ...options }) };
}

const silence = {
  id: ID,
  status: { state: 'active' },
  updatedAt: '2026-03-01T12:00:00.000Z',
  matchers: [{ name: 'alertname', value: 'X', isRegex: false, isEqual: true }],
  startsAt: '2026-03-01T12:00:00.000Z',
  endsAt: '2026-03-01T14:00:00.000Z',
  createdBy: 'slack:alice (Slack U1)',
  comment: 'c',
};

beforeAll(() => nock.disableNetConnect());
afterEach(() => {
  const pending = nock.pendingMocks();
  nock.cleanAll();
  expect(pending).toEqual([]);
});
afterAll(() => nock.enableNetConnect());

async function failure(promise: Promise<unknown>): Promise<AlertmanagerError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(AlertmanagerError);
  return error as AlertmanagerError;
}

describe('AlertmanagerClient', () => {
  it('creates a silence with Alertmanager API v2 fields and the bearer token', async () => {
    nock(`${AM}/prefix`)
      .post('/api/v2/silences', {
        matchers: [{ name: 'alertname', value: 'X', isRegex: false, isEqual: true }],
        startsAt: '2026-03-01T12:00:00.000Z',
        endsAt: '2026-03-01T14:00:00.000Z',
        createdBy: 'slack:alice (Slack U1)',
        comment: 'c',
      })
      .matchHeader('authorization', `Bearer ${TOKEN}`)
      .reply(200, { silenceID: ID });
    const { am, metrics } = client({ baseUrl: `${AM}/prefix/`, bearerToken: TOKEN });
    const id = await am.createSilence({
      matchers: [{ name: 'alertname', value: 'X', isRegex: false, isEqual: true }],
      startsAt: new Date('2026-03-01T12:00:00Z'),
      endsAt: new Date('2026-03-01T14:00:00Z'),
      createdBy: 'slack:alice (Slack U1)',
      comment: 'c',
    });
    expect(id).toBe(ID);
    expect(await metricValue(metrics, 'lookout_alertmanager_requests_total', { operation: 'create', outcome: 'ok' })).toBe(1);
  });

  it('sends basic auth, lists with repeated filter parameters, and reads silences', async () => {
    nock(AM)
      .get('/api/v2/silences')
      .query(new URLSearchParams([['filter', 'namespace="shop"'], ['filter', 'alertname=~"X.*"']]))
      .basicAuth({ user: 'lookout', pass: 'pw' })
      .reply(200, [silence]);
    const { am } = client({ basicAuth: { username: 'lookout', password: 'pw' } });
    expect(await am.listSilences(['namespace="shop"', 'alertname=~"X.*"'])).toEqual([
      { id: ID, matchers: silence.matchers, startsAt: silence.startsAt, endsAt: silence.endsAt, createdBy: silence.createdBy, comment: 'c', state: 'active' },
    ]);
  });

  it('says not found for an unknown or malformed id, and expires by DELETE', async () => {
    nock(AM).get(`/api/v2/silence/${ID}`).reply(404, '"silence not found"').delete(`/api/v2/silence/${ID}`).reply(200);
    const { am } = client();
    expect(await am.getSilence(ID)).toBeUndefined();
    expect(await am.getSilence('../../status')).toBeUndefined();
    await am.expireSilence(ID);
  });

  it('keeps Alertmanager’s refusal of an invalid silence, and only a short reason otherwise', async () => {
    nock(AM).post('/api/v2/silences').reply(400, '"silence invalid: at least one matcher must not match the empty string"').get('/api/v2/silences').reply(503, 'upstream secret details');
    const { am } = client();
    const refused = await failure(am.createSilence({ matchers: [], startsAt: new Date(), endsAt: new Date(), createdBy: 'x', comment: 'y' }));
    expect(refused.refusal).toBe('silence invalid: at least one matcher must not match the empty string');
    const unavailable = await failure(am.listSilences());
    expect(unavailable.reason).toBe('HTTP 503');
    expect(unavailable.refusal).toBeUndefined();
    expect(unavailable.message).not.toContain('secret');
  });

  it('classifies timeouts, refused connections and broken answers without keeping credentials', async () => {
    nock(AM).get('/api/v2/silences').replyWithError(Object.assign(new Error('connect ECONNREFUSED 10.0.0.1:9093'), { code: 'ECONNREFUSED' })).get('/api/v2/silences').reply(200, { not: 'a list' }).get('/api/v2/silences').reply(401);
    nock(AM).get('/api/v2/silences').delay(1000).reply(200, []);
    const { am } = client({ bearerToken: TOKEN });
    const errors = [await failure(am.listSilences()), await failure(am.listSilences()), await failure(am.listSilences()), await failure(am.listSilences())];
    expect(errors.map((error) => error.reason)).toEqual(['unreachable', 'invalid response', "HTTP 401 (check Lookout's Alertmanager credentials)", 'timeout']);
    for (const error of errors) expect(JSON.stringify({ message: error.message, cause: String(error.cause), stack: error.stack })).not.toContain(TOKEN);
  });

  it('reads alert groups (GET /api/v2/alerts/groups) as Alertmanager 0.25 answers, and refuses garbage', async () => {
    const alert = (fingerprint: string, state: string, silencedBy: string[] | null) => ({
      annotations: { summary: 's' },
      endsAt: '2026-03-01T12:05:00.000Z',
      fingerprint,
      receivers: [{ name: 'lookout' }],
      startsAt: '2026-03-01T11:00:00.000Z',
      status: { inhibitedBy: [], silencedBy, state },
      updatedAt: '2026-03-01T12:00:00.000Z',
      generatorURL: 'http://prometheus/graph',
      labels: { alertname: 'X', pod: fingerprint },
    });
    nock(AM)
      .get('/api/v2/alerts/groups')
      .matchHeader('authorization', `Bearer ${TOKEN}`)
      .reply(200, [{ labels: { alertname: 'X' }, receiver: { name: 'lookout' }, alerts: [alert('aaa', 'active', []), alert('bbb', 'suppressed', [ID])] }, { labels: {}, receiver: { name: 'null' }, alerts: [alert('ccc', 'active', null)] }])
      .get('/api/v2/alerts/groups')
      .reply(200, [{ labels: {}, receiver: 'lookout', alerts: [] }]);
    const { am, metrics } = client({ bearerToken: TOKEN });
    const groups = await am.listAlertGroups();
    expect(groups.map((group) => [group.receiver, group.alerts.map((found) => [found.fingerprint, found.state, found.silencedBy])])).toEqual([
      ['lookout', [['aaa', 'active', []], ['bbb', 'suppressed', [ID]]]],
      ['null', [['ccc', 'active', []]]],
    ]);
    expect((await failure(am.listAlertGroups())).reason).toBe('invalid response');
    expect(await metricValue(metrics, 'lookout_alertmanager_requests_total', { operation: 'groups', outcome: 'ok' })).toBe(1);
    expect(await metricValue(metrics, 'lookout_alertmanager_requests_total', { operation: 'groups', outcome: 'invalid' })).toBe(1);
  });
});
