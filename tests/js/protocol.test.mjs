// The seed's wire protocol, driven by the official socket.io-client exactly as the
// seed's page connects. Run by tests/test_node_client.py, which starts the servers and
// passes RC_URL, RC_URL_LIMITED and RC_TOKENS (a JSON map of named tokens).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { io } from 'socket.io-client';

const URL = process.env.RC_URL;
const URL_LIMITED = process.env.RC_URL_LIMITED;
const TOKENS = JSON.parse(process.env.RC_TOKENS);
const open = new Set();
after(() => { for (const s of open) s.disconnect(); });

// A client that records every event in order, with a helper to await the next one.
function connect(name, { url = URL, token = TOKENS[name], transports = ['websocket'], extra = {} } = {}) {
  const socket = io(`${url}/random-chat`, { transports, auth: { token }, reconnection: false, forceNew: true, ...extra });
  open.add(socket);
  const queue = [];
  const waiters = [];
  socket.onAny((event, data) => {
    const w = waiters.shift();
    if (w) w({ event, data }); else queue.push({ event, data });
  });
  const next = (ms = 5000) => new Promise((resolve, reject) => {
    if (queue.length) return resolve(queue.shift());
    const timer = setTimeout(() => reject(new Error(`${name}: no event within ${ms} ms`)), ms);
    waiters.push((v) => { clearTimeout(timer); resolve(v); });
  });
  const expect = async (event) => {
    const got = await next();
    assert.equal(got.event, event, `${name}: expected ${event}, got ${got.event} ${JSON.stringify(got.data)}`);
    return got.data;
  };
  const quiet = (ms = 200) => new Promise((resolve, reject) => setTimeout(
    () => (queue.length ? reject(new Error(`${name}: unexpected ${JSON.stringify(queue[0])}`)) : resolve()), ms));
  const close = () => { socket.disconnect(); open.delete(socket); };
  return { socket, next, expect, quiet, close, queue };
}

async function ready(name, opts) {
  const c = connect(name, opts);
  assert.deepEqual(await c.expect('connection-quality'), { quality: 'excellent' });
  return c;
}

async function pair(a, b) {
  const A = await ready(a);
  const B = await ready(b);
  A.socket.emit('find-partner');
  const waiting = await A.expect('waiting-for-partner');
  assert.equal(waiting.queuePosition, 1);
  B.socket.emit('find-partner');
  const mb = await B.expect('match-found');
  const ma = await A.expect('match-found');
  return { A, B, ma, mb };
}

const OFFER = { type: 'offer', sdp: 'v=0\r\no=- 46117 2 IN IP4 127.0.0.1\r\ns=-\r\n' };
const ANSWER = { type: 'answer', sdp: 'v=0\r\no=- 46118 2 IN IP4 127.0.0.1\r\ns=-\r\n' };
const cand = (n) => ({ candidate: `candidate:${n} 1 udp 2122260223 192.168.1.${n} 5${n}000 typ host`, sdpMid: '0', sdpMLineIndex: 0 });

async function collectCandidates(c, count) {
  const got = [];
  while (got.length < count) {
    const { event, data } = await c.next();
    if (event === 'signal-ice-candidate') got.push(data.candidate);
    else if (event === 'signal-ice-candidates-batch') got.push(...data.candidates);
    else assert.fail(`unexpected ${event}`);
  }
  return got;
}

test('a whole call: match, offer, answer, candidates, hang-up', async () => {
  const { A, B, ma, mb } = await pair('alice', 'bob');
  assert.equal(mb.role, 'initiator');
  assert.equal(mb.partnerName, 'alice');
  assert.equal(ma.role, 'receiver');
  assert.equal(ma.partnerName, 'bob');
  assert.ok(Number.isInteger(ma.timestamp));
  assert.deepEqual(ma.iceServers, [{ urls: 'stun:stun.test.invalid:3478' }]);

  B.socket.emit('signal-offer', { offer: OFFER });
  assert.deepEqual(await A.expect('signal-offer'), { offer: OFFER });
  assert.equal(await B.expect('signal-offer-ack'), undefined);
  A.socket.emit('signal-answer', { answer: ANSWER });
  assert.deepEqual(await B.expect('signal-answer'), { answer: ANSWER });
  await A.expect('signal-answer-ack');

  for (let n = 1; n <= 8; n++) B.socket.emit('signal-ice-candidate', { candidate: cand(n) });
  for (let n = 11; n <= 18; n++) A.socket.emit('signal-ice-candidate', { candidate: cand(n) });
  assert.deepEqual(await collectCandidates(A, 8), [1, 2, 3, 4, 5, 6, 7, 8].map(cand));
  assert.deepEqual(await collectCandidates(B, 8), [11, 12, 13, 14, 15, 16, 17, 18].map(cand));
  await A.quiet();

  B.close();
  assert.deepEqual(await A.expect('partner-disconnected'), {});
  A.close();
});

test('candidates are relayed within milliseconds, not held for a timer', async () => {
  const { A, B } = await pair('carol', 'dave');
  const started = performance.now();
  B.socket.emit('signal-ice-candidate', { candidate: cand(1) });
  await collectCandidates(A, 1);
  const elapsed = performance.now() - started;
  // The seed held candidates for 50 ms; a round trip on loopback takes a few.
  assert.ok(elapsed < 45, `candidate took ${elapsed.toFixed(1)} ms`);
  A.close(); B.close();
});

test('refused tokens get connect_error with the reason', async () => {
  for (const name of ['expired', 'badsig', 'algnone', 'garbage']) {
    const c = connect(name);
    const err = await new Promise((resolve) => c.socket.on('connect_error', resolve));
    assert.match(err.message, /^Authentication failed: /, name);
    c.close();
  }
  const none = connect('nobody', { token: undefined });
  const err = await new Promise((resolve) => none.socket.on('connect_error', resolve));
  assert.match(err.message, /no token/);
  none.close();
});

test('Authorization: Bearer header is accepted', async () => {
  const c = connect('header', { token: undefined, extra: { extraHeaders: { Authorization: `Bearer ${TOKENS.header}` } } });
  assert.deepEqual(await c.expect('connection-quality'), { quality: 'excellent' });
  c.close();
});

test('long-polling transport', async () => {
  const A = await ready('poll1', { transports: ['polling'] });
  const B = await ready('poll2', { transports: ['polling', 'websocket'] });
  A.socket.emit('find-partner');
  await A.expect('waiting-for-partner');
  B.socket.emit('find-partner');
  await B.expect('match-found');
  await A.expect('match-found');
  B.socket.emit('signal-offer', { offer: OFFER });
  assert.deepEqual(await A.expect('signal-offer'), { offer: OFFER });
  A.close(); B.close();
});

test('seed errors: already in queue, already in a match; signals without partner vanish', async () => {
  const { A, B } = await pair('erin', 'frank');
  A.socket.emit('find-partner');
  assert.deepEqual(await A.expect('error'), { message: 'Already in a match', event: 'find-partner', code: 'refused' });
  const C = await ready('grace');
  C.socket.emit('signal-offer', { offer: OFFER });
  C.socket.emit('find-partner');
  await C.expect('waiting-for-partner');
  C.socket.emit('find-partner');
  assert.deepEqual(await C.expect('error'), { message: 'Already in queue', event: 'find-partner', code: 'refused' });
  await A.quiet(); await B.quiet();
  A.close(); B.close(); C.close();
});

test('malformed payloads get an error and the socket stays up', async () => {
  const { A, B } = await pair('heidi', 'ivan');
  A.socket.emit('signal-offer', null);
  assert.match((await A.expect('error')).message, /signal-offer: expected one JSON object/);
  A.socket.emit('signal-ice-candidate', { candidate: 42 });
  assert.match((await A.expect('error')).message, /'candidate' must be/);
  A.socket.emit('mystery', 1);
  assert.equal((await A.expect('error')).message, "Unknown event 'mystery'");
  A.socket.emit('signal-offer', { offer: OFFER });
  assert.deepEqual(await B.expect('signal-offer'), { offer: OFFER });
  A.close(); B.close();
});

test('next finds a new partner; leave ends the call', async () => {
  const { A, B } = await pair('judy', 'ken');
  const C = await ready('leo');
  C.socket.emit('find-partner');
  await C.expect('waiting-for-partner');
  A.socket.emit('next');
  assert.deepEqual(await B.expect('partner-left'), { reason: 'next' });
  assert.equal((await A.expect('match-found')).partnerName, 'leo');
  assert.equal((await C.expect('match-found')).role, 'receiver');
  C.socket.emit('leave');
  assert.deepEqual(await A.expect('partner-left'), { reason: 'leave' });
  A.close(); B.close(); C.close();
});

test('heartbeat is acknowledged with the server time', async () => {
  const A = await ready('mallory');
  const sentAt = Date.now();
  A.socket.emit('heartbeat', { sentAt });
  const ack = await A.expect('heartbeat-ack');
  assert.equal(ack.sentAt, sentAt);
  assert.ok(Math.abs(ack.serverTime - Date.now()) < 5000);
  A.close();
});

test('find-partner is rate limited per user', async () => {
  const A = await ready('niaj', { url: URL_LIMITED });
  A.socket.emit('find-partner');
  await A.expect('waiting-for-partner');
  A.socket.emit('leave');
  A.socket.emit('find-partner');
  const limited = await A.expect('rate-limited');
  assert.equal(limited.message, 'Please wait before searching again');
  assert.ok(limited.retryAfter > 0 && limited.retryAfter <= 1000);
  A.close();
});
