import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ChatDeliveryFailed, type ResolvedAddress, safePost } from '../../../shared/notify/safe-fetch.ts';
import { type Receiver, startReceiver } from './receiver.ts';

let receiver: Receiver;
let elsewhere: Receiver;

beforeAll(async () => {
  receiver = await startReceiver();
  elsewhere = await startReceiver();
});
afterAll(async () => {
  await receiver.close();
  await elsewhere.close();
});
beforeEach(() => {
  for (const r of [receiver, elsewhere]) {
    r.requests.length = 0;
    r.connections = 0;
    r.answer = () => ({ body: 'ok' });
  }
});

/** A resolver that answers `addresses` for every name and counts its calls. */
function resolverTo(...addresses: string[]) {
  const resolver = async (_host: string): Promise<ResolvedAddress[]> => {
    resolver.calls += 1;
    return addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
  };
  resolver.calls = 0;
  return resolver;
}

const local = { allowedHosts: ['127.0.0.1'], allowPrivate: ['127.0.0.1'], timeoutMs: 2_000 };

describe('safePost', () => {
  it('posts JSON to a local receiver listed in allowPrivate and returns its answer', async () => {
    receiver.answer = () => ({ status: 201, body: { ok: true } });
    const answer = await safePost(`${receiver.url}/hook?key=k`, { hello: 'world' }, local);
    expect(answer).toEqual({ status: 201, text: '{"ok":true}' });
    expect(receiver.requests).toHaveLength(1);
    expect(receiver.requests[0]).toMatchObject({ method: 'POST', rawUrl: '/hook?key=k', json: { hello: 'world' } });
    expect(receiver.requests[0]?.headers['content-type']).toBe('application/json; charset=utf-8');
  });

  it('updates with PATCH or PUT and reads with a bodiless GET, headers passed through (bot APIs)', async () => {
    receiver.answer = () => ({ body: { code: 0 } });
    const auth = { authorization: 'Bearer t-1' };
    await safePost(
      `${receiver.url}/open-apis/im/v1/messages/om_1`,
      { content: '{}' },
      { ...local, method: 'PATCH', headers: auth },
    );
    await safePost(`${receiver.url}/cgi-bin/gettoken?corpid=c`, { ignored: true }, { ...local, method: 'GET' });
    const [patch, get] = receiver.requests;
    expect(patch).toMatchObject({ method: 'PATCH', json: { content: '{}' } });
    expect(patch?.headers.authorization).toBe('Bearer t-1');
    expect(get).toMatchObject({ method: 'GET', rawUrl: '/cgi-bin/gettoken?corpid=c', raw: '' });
    expect(get?.headers['content-type']).toBeUndefined();
  });

  it('keeps every rule for other methods: a PUT to a host not allowed never connects', async () => {
    const attempt = safePost(
      `${receiver.url}/v1.0/im/robots/interactiveCards`,
      {},
      {
        ...local,
        allowedHosts: ['api.dingtalk.com'],
        method: 'PUT',
      },
    );
    await expect(attempt).rejects.toThrow(/not in the allowed hosts/);
    expect(receiver.connections).toBe(0);
  });

  it('refuses a host that is not allowed, without connecting', async () => {
    const attempt = safePost(`${receiver.url}/hook`, {}, { ...local, allowedHosts: ['hooks.slack.com'] });
    await expect(attempt).rejects.toThrow(new ChatDeliveryFailed('Host 127.0.0.1 is not in the allowed hosts'));
    expect(receiver.connections).toBe(0);
  });

  it('refuses plain http unless the host is in allowPrivate', async () => {
    const attempt = safePost(`${receiver.url}/hook`, {}, { allowedHosts: ['127.0.0.1'], timeoutMs: 2_000 });
    await expect(attempt).rejects.toThrow(/must be reached over https/);
    expect(receiver.connections).toBe(0);
  });

  it.each([
    '127.0.0.1',
    '10.1.2.3',
    '172.20.0.5',
    '192.168.1.1',
    '169.254.169.254',
    '100.64.0.1',
    '0.0.0.0',
    '::1',
    '::ffff:127.0.0.1',
    'fd00:ec2::254',
    'fe80::1',
  ])('refuses an allowed host that resolves to %s, without connecting', async (address) => {
    const resolve = resolverTo(address);
    const attempt = safePost(
      `https://hooks.slack.com:${receiver.port}/services/x`,
      {},
      {
        allowedHosts: ['hooks.slack.com'],
        timeoutMs: 2_000,
        resolve,
      },
    );
    await expect(attempt).rejects.toThrow(`Host hooks.slack.com resolves to the non-public address ${address}`);
    expect(resolve.calls).toBe(1);
    expect(receiver.connections).toBe(0);
  });

  it('refuses a host when any of its addresses is private, even if the first is public', async () => {
    const attempt = safePost(
      'https://hooks.slack.com/services/x',
      {},
      {
        allowedHosts: ['hooks.slack.com'],
        timeoutMs: 2_000,
        resolve: resolverTo('52.1.2.3', '10.0.0.7'),
      },
    );
    await expect(attempt).rejects.toThrow(/non-public address 10\.0\.0\.7/);
  });

  it('refuses an IP literal in a private range when it is allowed but not marked private', async () => {
    const attempt = safePost(
      'https://169.254.169.254/latest/meta-data',
      {},
      {
        allowedHosts: ['169.254.169.254'],
        timeoutMs: 2_000,
      },
    );
    await expect(attempt).rejects.toThrow(/non-public address 169\.254\.169\.254/);
  });

  it('refuses a name the system resolves to loopback (real resolver)', async () => {
    const attempt = safePost(
      `https://localhost:${receiver.port}/`,
      {},
      { allowedHosts: ['localhost'], timeoutMs: 2_000 },
    );
    await expect(attempt).rejects.toThrow(/Host localhost resolves to the non-public address/);
    expect(receiver.connections).toBe(0);
  });

  it('connects to the address it checked: the name is resolved once and never again', async () => {
    const resolve = resolverTo('127.0.0.1');
    // `.test` names resolve nowhere, so this request can only arrive through the pinned address.
    const url = `http://chat.receiver.test:${receiver.port}/hook`;
    await safePost(
      url,
      { n: 1 },
      {
        allowedHosts: ['*.receiver.test'],
        allowPrivate: ['chat.receiver.test'],
        timeoutMs: 2_000,
        resolve,
      },
    );
    expect(resolve.calls).toBe(1);
    expect(receiver.requests[0]?.headers.host).toBe(`chat.receiver.test:${receiver.port}`);
  });

  it('does not follow a redirect, and names where it pointed', async () => {
    const location = `${elsewhere.url}/latest/meta-data/`;
    receiver.answer = () => ({ status: 302, headers: { location } });
    await expect(safePost(`${receiver.url}/hook`, {}, local)).rejects.toThrow(
      `127.0.0.1 answered 302 redirecting to ${location}; redirects are not followed`,
    );
    expect(receiver.requests).toHaveLength(1);
    expect(elsewhere.connections).toBe(0);
  });

  it('gives up on a receiver that never answers', async () => {
    receiver.answer = () => 'hang';
    const started = Date.now();
    await expect(safePost(`${receiver.url}/hook`, {}, { ...local, timeoutMs: 200 })).rejects.toThrow(
      new ChatDeliveryFailed('127.0.0.1 did not answer within 200 ms'),
    );
    expect(Date.now() - started).toBeLessThan(1_500);
  });

  it('gives up on a resolver that never answers', async () => {
    const attempt = safePost(
      'https://hooks.slack.com/x',
      {},
      {
        allowedHosts: ['hooks.slack.com'],
        timeoutMs: 100,
        resolve: () => new Promise(() => {}),
      },
    );
    await expect(attempt).rejects.toThrow('hooks.slack.com did not answer within 100 ms');
  });

  it('fails on a non-2xx answer, quoting the start of its body', async () => {
    receiver.answer = () => ({ status: 404, body: 'no_service' });
    await expect(safePost(`${receiver.url}/hook`, {}, local)).rejects.toThrow(
      '127.0.0.1 answered HTTP 404: no_service',
    );
  });

  it('fails on an answer larger than the cap', async () => {
    receiver.answer = () => ({ body: 'x'.repeat(10_000) });
    await expect(safePost(`${receiver.url}/hook`, {}, { ...local, maxResponseBytes: 1_000 })).rejects.toThrow(
      '127.0.0.1 answered more than 1000 bytes',
    );
  });

  it('refuses URLs with credentials or that do not parse', async () => {
    await expect(safePost(`http://user:pw@127.0.0.1:${receiver.port}/`, {}, local)).rejects.toThrow(/credentials/);
    await expect(safePost('not a url', {}, local)).rejects.toThrow(/not a valid URL/);
    expect(receiver.connections).toBe(0);
  });
});
