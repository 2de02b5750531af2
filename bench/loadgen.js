#!/usr/bin/env node
// randomchat load generator: virtual users that run the whole call set-up against a
// Socket.IO signaling server (namespace /random-chat), using the official socket.io-client v4.
//
// Normally started by bench/run (which pins it to CPU core 1 and the server to core 0).
//
//   node loadgen.js --mode load --url http://127.0.0.1:3901 --secret S --concurrency 50 --duration 20 [--shape returning]
//   node loadgen.js --mode idle --url http://127.0.0.1:3901 --secret S --n 2000
//
// Output: progress on stderr; machine-readable lines on stdout:
//   "HELD {json}"     (idle mode: all N connections are up; then reads stdin: "search" or "release")
//   "WAITING {json}"  (idle mode after "search": every connection is waiting in the queue; then "release")
//   "RESULT {json}"   (last line, both modes)
//
// One call cycle per virtual user (VU):
//   connect with a JWT -> 'connection-quality' -> emit 'find-partner' (t0)
//   -> 'waiting-for-partner' (optional) -> 'match-found' {role}
//   initiator: emit 'signal-offer' {offer} + 8 x 'signal-ice-candidate'; expects 'signal-offer-ack',
//              'signal-answer' and the partner's 8 candidates
//   receiver:  expects 'signal-offer'; emits 'signal-answer' {answer} + 8 candidates; expects
//              'signal-answer-ack' and the partner's 8 candidates
//   candidates may arrive as 'signal-ice-candidate' {candidate} or 'signal-ice-candidates-batch' {candidates}
//   set-up latency = t0 -> partner's SDP, all its candidates and our own ack received
//   hold the call (300 ms); the initiator hangs up; the receiver must see it, and both start over.
//
// Load shapes (--shape):
//   returning  each VU has one token (one `sub`) for the whole run and reconnects with it every call;
//              the initiator hangs up by disconnecting, the receiver gets 'partner-disconnected' and
//              disconnects too.
//   fresh      as returning, but every connection is a never-seen user: a new `sub` and a token signed
//              just before connecting.
//   polling    as returning, but a share of the VUs (--polling-share) use transports ['polling']
//              (HTTP long-polling only, no upgrade).
//   session    a VU stays connected across calls. With --session-next on (our server): after the hold
//              the initiator emits 'next' (t0 of its next search); the receiver gets 'partner-left'
//              {reason: 'next'} and emits 'find-partner' on the same connection. With --session-next
//              off (the seed's gateway, which has no 'next'): the initiator disconnects and reconnects
//              with its token; the receiver gets 'partner-disconnected', stays connected and emits
//              'find-partner' again.
//
// A VU still alone in the queue when the run ends gets --grace ms for a partner; if by then it has
// waited longer than --grace + --stall-ms in all, the queue had stalled (nobody it may meet is
// coming: e.g. a repeat window that excludes every other user) and it counts as an error
// 'stalled-in-queue'; otherwise it leaves as 'unmatched_at_stop'. During the run any wait longer
// than --step-timeout is an error ('timeout-match' and so on).
'use strict';

const fs = require('fs');
const crypto = require('crypto');
const { performance, monitorEventLoopDelay } = require('perf_hooks');
const { io } = require('socket.io-client');
const jwt = require('jsonwebtoken');

// ---------------------------------------------------------------- arguments
const SHAPES = ['returning', 'fresh', 'session', 'polling'];
function parseArgs(argv) {
  const a = {
    mode: 'load', url: 'http://127.0.0.1:3901', namespace: '/random-chat', secret: 'secret',
    concurrency: 10, duration: 20, hold: 300, candidates: 8, stepTimeout: 10000, grace: 3000,
    stallMs: 3000, n: 2000, connectParallel: 200, serverPids: '', label: '', sdpBytes: 2048,
    deflate: 'on', shape: 'returning', pollingShare: 0.25, sessionNext: 'on',
  };
  for (let i = 2; i < argv.length; i++) {
    const k = argv[i];
    if (!k.startsWith('--')) throw new Error('bad argument ' + k);
    const key = k.slice(2).replace(/-([a-z])/g, (_, c) => c.toUpperCase());
    if (!(key in a)) throw new Error('unknown option ' + k);
    const v = argv[++i];
    if (v === undefined) throw new Error('missing value for ' + k);
    a[key] = typeof a[key] === 'number' ? Number(v) : v;
    if (typeof a[key] === 'number' && !Number.isFinite(a[key])) throw new Error('bad number for ' + k);
  }
  if (!SHAPES.includes(a.shape)) throw new Error('unknown --shape ' + a.shape + ' (one of ' + SHAPES.join(', ') + ')');
  if (!(a.pollingShare >= 0 && a.pollingShare <= 1)) throw new Error('--polling-share must be within 0..1');
  if (a.sessionNext !== 'on' && a.sessionNext !== 'off') throw new Error('--session-next is on or off');
  return a;
}
const args = parseArgs(process.argv);
const log = (...m) => process.stderr.write('[loadgen' + (args.label ? ' ' + args.label : '') + '] ' + m.join(' ') + '\n');

// ---------------------------------------------------------------- /proc readers (Linux)
const CLK_TCK = 100; // USER_HZ on Linux; bench/run cross-checks with os.sysconf('SC_CLK_TCK')
const serverPids = args.serverPids ? args.serverPids.split(',').map(Number).filter(Boolean) : [];
function procCpuMs(pid) {
  // fields after the ')' of comm: state(3) ... utime(14) stime(15)
  const s = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) * 1000 / CLK_TCK;
}
// busy jiffies per CPU from /proc/stat, to see other work competing for the pinned cores
function coreBusy() {
  const out = {};
  for (const line of fs.readFileSync('/proc/stat', 'utf8').split('\n')) {
    const m = /^cpu(\d+) (.*)$/.exec(line);
    if (!m) continue;
    const v = m[2].trim().split(/\s+/).map(Number); // user nice system idle iowait irq softirq steal
    out[m[1]] = (v[0] + v[1] + v[2] + v[5] + v[6] + (v[7] || 0)) * 1000 / CLK_TCK;
  }
  return out;
}
function busyPct(a, b, wallMs) {
  const r = {};
  for (const k of Object.keys(b)) r['cpu' + k] = round(100 * (b[k] - (a[k] || 0)) / wallMs, 1);
  return r;
}
function serverCpuMs() {
  let t = 0;
  for (const p of serverPids) { try { t += procCpuMs(p); } catch (e) { /* process gone */ } }
  return t;
}

// ---------------------------------------------------------------- payloads
const RUN_ID = crypto.randomBytes(4).toString('hex');
function signToken(sub, name) {
  return jwt.sign({ sub, username: name }, args.secret, { algorithm: 'HS256', expiresIn: '6h' });
}
function token(i) { return signToken(`bench-${RUN_ID}-${i}`, `vu${i}`); }
function rnd(n) { return crypto.randomBytes(n).toString('base64').replace(/[^A-Za-z0-9]/g, 'x').slice(0, n); }
function fingerprint() { return crypto.randomBytes(32).toString('hex').toUpperCase().match(/../g).join(':'); }
// A browser-like SDP (audio + video + data channel, BUNDLE), padded/truncated to about sdpBytes.
function makeSdp(type) {
  const ufrag = rnd(4), pwd = rnd(24), fp = fingerprint(), sess = String(1e15 + Math.floor(Math.random() * 8e15));
  const setup = type === 'offer' ? 'actpass' : 'active';
  const lines = [
    'v=0', `o=- ${sess} 2 IN IP4 127.0.0.1`, 's=-', 't=0 0', 'a=group:BUNDLE 0 1 2', 'a=extmap-allow-mixed',
    'a=msid-semantic: WMS stream0',
    'm=audio 9 UDP/TLS/RTP/SAVPF 111 63 9 0 8 13 110 126', 'c=IN IP4 0.0.0.0', 'a=rtcp:9 IN IP4 0.0.0.0',
    `a=ice-ufrag:${ufrag}`, `a=ice-pwd:${pwd}`, 'a=ice-options:trickle', `a=fingerprint:sha-256 ${fp}`,
    `a=setup:${setup}`, 'a=mid:0', 'a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level',
    'a=extmap:2 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time', 'a=sendrecv',
    'a=msid:stream0 audio0', 'a=rtcp-mux', 'a=rtpmap:111 opus/48000/2', 'a=rtcp-fb:111 transport-cc',
    'a=fmtp:111 minptime=10;useinbandfec=1', 'a=rtpmap:63 red/48000/2', 'a=fmtp:63 111/111',
    'a=rtpmap:9 G722/8000', 'a=rtpmap:0 PCMU/8000', 'a=rtpmap:8 PCMA/8000', 'a=rtpmap:13 CN/8000',
    'a=rtpmap:110 telephone-event/48000', 'a=rtpmap:126 telephone-event/8000', 'a=ssrc:1001 cname:' + rnd(16),
    'm=video 9 UDP/TLS/RTP/SAVPF 96 97 102 103 104 105 106 107', 'c=IN IP4 0.0.0.0', 'a=rtcp:9 IN IP4 0.0.0.0',
    `a=ice-ufrag:${ufrag}`, `a=ice-pwd:${pwd}`, 'a=ice-options:trickle', `a=fingerprint:sha-256 ${fp}`,
    `a=setup:${setup}`, 'a=mid:1', 'a=extmap:14 urn:ietf:params:rtp-hdrext:toffset', 'a=sendrecv',
    'a=msid:stream0 video0', 'a=rtcp-mux', 'a=rtcp-rsize', 'a=rtpmap:96 VP8/90000', 'a=rtcp-fb:96 goog-remb',
    'a=rtcp-fb:96 transport-cc', 'a=rtcp-fb:96 ccm fir', 'a=rtcp-fb:96 nack', 'a=rtcp-fb:96 nack pli',
    'a=rtpmap:97 rtx/90000', 'a=fmtp:97 apt=96', 'a=rtpmap:102 H264/90000', 'a=rtcp-fb:102 nack pli',
    'a=fmtp:102 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f',
    'a=rtpmap:103 rtx/90000', 'a=fmtp:103 apt=102', 'a=rtpmap:104 VP9/90000', 'a=fmtp:104 profile-id=0',
    'a=rtpmap:105 rtx/90000', 'a=fmtp:105 apt=104', 'a=rtpmap:106 AV1/90000', 'a=rtpmap:107 rtx/90000',
    'a=fmtp:107 apt=106', 'a=ssrc-group:FID 2001 2002', 'a=ssrc:2001 cname:' + rnd(16), 'a=ssrc:2002 cname:' + rnd(16),
    'm=application 9 UDP/DTLS/SCTP webrtc-datachannel', 'c=IN IP4 0.0.0.0', `a=ice-ufrag:${ufrag}`,
    `a=ice-pwd:${pwd}`, 'a=ice-options:trickle', `a=fingerprint:sha-256 ${fp}`, `a=setup:${setup}`, 'a=mid:2',
    'a=sctp-port:5000', 'a=max-message-size:262144',
  ];
  let sdp = lines.join('\r\n') + '\r\n';
  while (sdp.length < args.sdpBytes) sdp += `a=x-pad:${rnd(60)}\r\n`;
  if (sdp.length > args.sdpBytes + 80) sdp = sdp.slice(0, args.sdpBytes);
  return sdp;
}
function makeCandidates(n, vu) {
  const out = [];
  const kinds = ['host', 'srflx', 'relay'];
  for (let i = 0; i < n; i++) {
    const typ = kinds[i % 3];
    const ip = `192.0.2.${(vu % 250) + 1}`; // TEST-NET-1 documentation range, never routed
    const port = 50000 + ((vu * 17 + i * 131) % 15000);
    let c = `candidate:${1000000000 + vu * 100 + i} ${1 + (i % 2)} udp ${2122260223 - i * 1000} ${ip} ${port} typ ${typ}`;
    if (typ !== 'host') c += ` raddr 0.0.0.0 rport 0`;
    c += ` generation 0 ufrag ${rnd(4)} network-id ${1 + (i % 2)} network-cost 10`;
    out.push({ candidate: c, sdpMid: '0', sdpMLineIndex: 0 });
  }
  return out;
}

// ---------------------------------------------------------------- stats
const stats = {
  connects: 0, cycles: 0, setups: 0, setupsInWindow: 0, sidesCompleted: 0, callsCompleted: 0,
  brokenCalls: 0, unmatchedAtStop: 0, abortedAtStop: 0,
  errors: {}, latencies: [], eventsIn: 0, eventsOut: 0,
};
function err(kind, detail) {
  stats.errors[kind] = (stats.errors[kind] || 0) + 1;
  if ((stats.errors[kind] || 0) <= 3) log('error:', kind, detail || '');
}
function pct(sorted, p) {
  if (!sorted.length) return null;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}
function round(x, d = 2) { return x == null ? null : Math.round(x * 10 ** d) / 10 ** d; }

// --url may list several servers (a cluster's nodes, comma-separated): user i uses url i mod n.
const urls = args.url.split(',');
function connect(i, tok, polling) {
  stats.connects++;
  return io(urls[i % urls.length] + args.namespace, {
    transports: polling ? ['polling'] : ['websocket'], auth: { token: tok }, forceNew: true, reconnection: false,
    timeout: args.stepTimeout,
    // 'on' (default): offer permessage-deflate as browsers and the Node client do; the server decides
    ...(args.deflate === 'off' ? { perMessageDeflate: false } : {}),
  });
}

// ---------------------------------------------------------------- load mode
let stopping = false;
let tStop = Infinity;
const session = args.shape === 'session';
const sessionNext = session && args.sessionNext === 'on';

// The token for the VU's next connection: 'fresh' signs a new user each time (its cost is the load
// generator's, as a real login would be), the other shapes reuse the VU's one token.
function tokenFor(vu) {
  if (args.shape !== 'fresh') return vu.token;
  vu.gen++;
  return signToken(`bench-${RUN_ID}-${vu.i}-${vu.gen}`, `vu${vu.i}`);
}

// The VU's socket outlives a cycle in the session shape, so its listeners dispatch to whichever
// cycle is current (vu.handler); an event while no cycle runs is an error.
function openSocket(vu) {
  const sock = connect(vu.i, tokenFor(vu), vu.polling);
  vu.sock = sock;
  sock.on('connect_error', (e) => {
    if (vu.handler) vu.handler.fail('connect_error', e && e.message); else err('connect_error', e && e.message);
  });
  sock.on('disconnect', (reason) => {
    if (vu.sock !== sock) return;
    vu.sock = null;
    if (vu.handler) vu.handler.fail('unexpected-disconnect', `vu${vu.i} reason=${reason}`);
    else if (!stopping) err('unexpected-disconnect', `vu${vu.i} between calls, reason=${reason}`);
  });
  sock.onAny((ev, data) => {
    stats.eventsIn++;
    if (vu.handler) vu.handler.event(ev, data); else err('unexpected-event-between-calls', ev);
  });
}
function closeSocket(vu) {
  const s = vu.sock;
  if (!s) return;
  vu.sock = null;
  s.offAny(); s.removeAllListeners();
  s.disconnect();
}

// One call cycle. Starts from a new connection, or (session shape) on the VU's open connection by
// emitting vu.carry ('find-partner' or 'next'). Resolves when the call is over (or failed).
function runCycle(vu) {
  return new Promise((resolve) => {
    stats.cycles++;
    const st = { state: 'connecting', role: null, gotSdp: false, acked: false, cands: 0, t0: 0, matched: false };
    let timer = null, graceTimer = null, done = false;
    const what = () => `vu${vu.i} state=${st.state} role=${st.role} sdp=${st.gotSdp} ack=${st.acked} cands=${st.cands}`;
    const arm = (ms, w) => {
      clearTimeout(timer);
      timer = setTimeout(() => fail('timeout-' + w, what()), ms);
    };
    // keep: the connection stays open for the next cycle (session shape), which starts with `carry`
    const finish = (keep, carry) => {
      if (done) return;
      done = true;
      clearTimeout(timer); clearTimeout(graceTimer);
      vu.handler = null; vu.onStop = null;
      vu.carry = keep ? carry : null;
      if (!keep) closeSocket(vu);
      resolve();
    };
    function fail(kind, detail) {
      if (done) return;
      err(kind, detail);
      if (st.matched) stats.brokenCalls++;
      vu.failed = true;
      finish(false);
    }
    function search(ev) {
      st.state = 'searching';
      st.t0 = performance.now();
      vu.sock.emit(ev); stats.eventsOut++;
      arm(args.stepTimeout, 'match');
    }
    function callOver() {
      st.state = 'done'; stats.callsCompleted++;
    }
    function checkComplete() {
      if (st.state !== 'signaling' || !st.gotSdp || !st.acked || st.cands < args.candidates) return;
      const now = performance.now();
      stats.latencies.push(now - st.t0);
      stats.sidesCompleted++;
      st.state = 'incall';
      if (st.role === 'initiator') {
        stats.setups++;
        if (now <= tStop) stats.setupsInWindow++;
        clearTimeout(timer);
        timer = setTimeout(() => {
          callOver();
          // our server: 'next' ends the call and searches again at once, on this connection
          if (sessionNext && !stopping) return finish(true, 'next');
          finish(false); // hang up by disconnecting (the next cycle connects again)
        }, args.hold);
      } else {
        arm(args.hold + args.stepTimeout, 'partner-hangup');
      }
    }
    function onStopWhileSearching() {
      // Called when the run ends while this VU sits in the queue: give a partner that already
      // searched a chance to arrive, then leave; an error only if the queue had stalled.
      if (st.state !== 'searching' || graceTimer) return;
      graceTimer = setTimeout(() => {
        if (st.state !== 'searching' || st.matched) return;
        const waited = performance.now() - st.t0;
        if (waited > args.grace + args.stallMs) {
          return fail('stalled-in-queue', `vu${vu.i} alone in the queue for ${Math.round(waited)} ms (nobody it may meet came)`);
        }
        stats.unmatchedAtStop++; st.state = 'done'; finish(false);
      }, args.grace);
    }
    vu.onStop = onStopWhileSearching;
    vu.handler = { fail, event: onEvent };

    if (vu.sock && vu.carry) {
      search(vu.carry);
    } else {
      closeSocket(vu);
      openSocket(vu);
      arm(args.stepTimeout, 'connect');
    }

    function onEvent(ev, data) {
      switch (ev) {
        case 'connection-quality':
          if (st.state !== 'connecting') return err('unexpected-connection-quality', st.state);
          if (stopping) { stats.abortedAtStop++; st.state = 'done'; return finish(false); }
          return search('find-partner');
        case 'waiting-for-partner':
          if (st.state !== 'searching') return err('unexpected-waiting', st.state);
          if (stopping) onStopWhileSearching();
          return;
        case 'match-found': {
          if (st.state !== 'searching') return fail('unexpected-match-found', st.state);
          if (!data || (data.role !== 'initiator' && data.role !== 'receiver')) return fail('bad-match-found', JSON.stringify(data));
          st.matched = true; st.role = data.role; st.state = 'signaling';
          clearTimeout(graceTimer);
          arm(args.stepTimeout, 'signaling');
          if (st.role === 'initiator') {
            vu.sock.emit('signal-offer', { offer: { type: 'offer', sdp: vu.offer } }); stats.eventsOut++;
            for (const c of vu.cands) { vu.sock.emit('signal-ice-candidate', { candidate: c }); stats.eventsOut++; }
          }
          return;
        }
        case 'signal-offer':
          if (st.state !== 'signaling' || st.role !== 'receiver' || st.gotSdp) return fail('unexpected-signal-offer', st.state + '/' + st.role);
          if (!data || !data.offer || data.offer.type !== 'offer' || typeof data.offer.sdp !== 'string' || data.offer.sdp.length < 100) return fail('bad-offer');
          st.gotSdp = true;
          vu.sock.emit('signal-answer', { answer: { type: 'answer', sdp: vu.answer } }); stats.eventsOut++;
          for (const c of vu.cands) { vu.sock.emit('signal-ice-candidate', { candidate: c }); stats.eventsOut++; }
          return checkComplete();
        case 'signal-answer':
          if (st.state !== 'signaling' || st.role !== 'initiator' || st.gotSdp) return fail('unexpected-signal-answer', st.state + '/' + st.role);
          if (!data || !data.answer || data.answer.type !== 'answer' || typeof data.answer.sdp !== 'string' || data.answer.sdp.length < 100) return fail('bad-answer');
          st.gotSdp = true;
          return checkComplete();
        case 'signal-offer-ack':
        case 'signal-answer-ack': {
          const want = st.role === 'initiator' ? 'signal-offer-ack' : 'signal-answer-ack';
          if (st.state !== 'signaling' || ev !== want || st.acked) return fail('unexpected-' + ev, st.state + '/' + st.role);
          st.acked = true;
          return checkComplete();
        }
        case 'signal-ice-candidate':
        case 'signal-ice-candidates-batch': {
          if (st.state !== 'signaling') return fail('unexpected-' + ev, st.state);
          const list = ev === 'signal-ice-candidate' ? [data && data.candidate] : (data && data.candidates);
          if (!Array.isArray(list)) return fail('bad-' + ev);
          for (const c of list) {
            if (!c || typeof c.candidate !== 'string' || !c.candidate.startsWith('candidate:')) return fail('bad-candidate', JSON.stringify(c));
          }
          st.cands += list.length;
          if (st.cands > args.candidates) return fail('too-many-candidates', String(st.cands));
          return checkComplete();
        }
        case 'partner-disconnected':
          // the receiver's end of a call, except on our server in the session shape, where the
          // initiator leaves with 'next' (it disconnects only when the run has ended)
          if (st.state === 'incall' && st.role === 'receiver' && (!sessionNext || stopping)) {
            callOver();
            return session && !stopping ? finish(true, 'find-partner') : finish(false);
          }
          return fail('early-partner-disconnected', what());
        case 'partner-left':
          if (sessionNext && st.state === 'incall' && st.role === 'receiver' && data && data.reason === 'next') {
            callOver();
            return stopping ? finish(false) : finish(true, 'find-partner');
          }
          return fail('unexpected-partner-left', what() + ' ' + JSON.stringify(data));
        case 'error':
        case 'rate-limited':
          return fail('server-' + ev, JSON.stringify(data));
        default:
          return fail('unexpected-event-' + ev);
      }
    }
  });
}

async function loadMode() {
  const vus = [];
  // polling shape: the first round(share x N) users poll (users pair in queue order, so they meet
  // websocket users and each other alike)
  const nPolling = args.shape === 'polling' ? Math.round(args.pollingShare * args.concurrency) : 0;
  for (let i = 0; i < args.concurrency; i++) {
    vus.push({
      i, token: token(i), gen: 0, polling: i < nPolling, sock: null, carry: null, handler: null,
      offer: makeSdp('offer'), answer: makeSdp('answer'), cands: makeCandidates(args.candidates, i), onStop: null,
    });
  }
  const eld = monitorEventLoopDelay({ resolution: 10 }); eld.enable();
  const cpu0 = process.cpuUsage();
  const srv0 = serverCpuMs();
  const busy0 = coreBusy();
  const t0 = performance.now();
  tStop = t0 + args.duration * 1000;
  const stopTimer = setTimeout(() => {
    stopping = true;
    log(`duration reached: ${stats.setupsInWindow} set-ups; draining`);
    for (const vu of vus) if (vu.onStop) vu.onStop();
  }, args.duration * 1000);
  const progress = setInterval(() => log(`t=${((performance.now() - t0) / 1000).toFixed(0)}s set-ups=${stats.setups} errors=${Object.values(stats.errors).reduce((a, b) => a + b, 0)} broken=${stats.brokenCalls}`), 5000);
  await Promise.all(vus.map(async (vu) => {
    while (!stopping) {
      vu.failed = false;
      await runCycle(vu);
      if (vu.failed) await new Promise((r) => setTimeout(r, 100)); // don't hammer a failing server
    }
    closeSocket(vu);
  }));
  clearTimeout(stopTimer); clearInterval(progress);
  const t1 = performance.now();
  const srv1 = serverCpuMs();
  const busy1 = coreBusy();
  const cpu1 = process.cpuUsage(cpu0);
  eld.disable();
  const wallMs = t1 - t0;
  const lat = Float64Array.from(stats.latencies).sort();
  const lgCpuMs = (cpu1.user + cpu1.system) / 1000;
  const errorsTotal = Object.values(stats.errors).reduce((a, b) => a + b, 0);
  return {
    mode: 'load', shape: args.shape, label: args.label, url: args.url, concurrency: args.concurrency, duration_s: args.duration,
    hold_ms: args.hold, candidates: args.candidates, sdp_bytes: vus[0].offer.length,
    polling_users: nPolling, session_next: session ? args.sessionNext : null,
    wall_s: round(wallMs / 1000, 3),
    setups_total: stats.setups, setups_in_window: stats.setupsInWindow,
    setups_per_s: round(stats.setupsInWindow / args.duration, 2),
    calls_completed_sides: stats.callsCompleted, sides_completed: stats.sidesCompleted,
    latency_ms: { n: lat.length, p50: round(pct(lat, 50)), p90: round(pct(lat, 90)), p99: round(pct(lat, 99)), max: round(lat.length ? lat[lat.length - 1] : null), mean: round(lat.length ? lat.reduce((a, b) => a + b, 0) / lat.length : null) },
    server_cpu_ms: round(srv1 - srv0, 1),
    server_cpu_ms_per_setup: stats.setups ? round((srv1 - srv0) / stats.setups, 3) : null,
    server_cpu_pct: round(100 * (srv1 - srv0) / wallMs, 1),
    core_busy_pct: busyPct(busy0, busy1, wallMs),
    loadgen_cpu_ms: round(lgCpuMs, 1), loadgen_cpu_pct: round(100 * lgCpuMs / wallMs, 1),
    // the histogram records whole timer intervals; subtract the 10 ms sampling interval to get the lag
    loadgen_event_loop_delay_ms: { p50: round(Math.max(0, eld.percentile(50) / 1e6 - 10)), p99: round(Math.max(0, eld.percentile(99) / 1e6 - 10)), max: round(Math.max(0, eld.max / 1e6 - 10)) },
    connects: stats.connects, events_out: stats.eventsOut, events_in: stats.eventsIn,
    errors: errorsTotal, error_kinds: stats.errors, broken_calls: stats.brokenCalls,
    unmatched_at_stop: stats.unmatchedAtStop, aborted_at_stop: stats.abortedAtStop,
  };
}

// ---------------------------------------------------------------- idle mode
// Commands from the driver on stdin, one per line ("search", "release"); EOF counts as "release".
const stdinLines = [];
let stdinWaiter = null, stdinEnded = false;
function readCommand(maxMs) {
  if (stdinLines.length) return Promise.resolve(stdinLines.shift());
  if (stdinEnded) return Promise.resolve('release');
  return new Promise((resolve) => {
    const t = setTimeout(() => { stdinWaiter = null; log('no command from the driver; releasing'); resolve('release'); }, maxMs);
    stdinWaiter = (line) => { clearTimeout(t); stdinWaiter = null; resolve(line); };
  });
}
function listenStdin() {
  let buf = '';
  const push = (line) => { if (stdinWaiter) stdinWaiter(line); else stdinLines.push(line); };
  process.stdin.setEncoding('utf8');
  process.stdin.on('data', (d) => {
    buf += d;
    let k;
    while ((k = buf.indexOf('\n')) >= 0) { const line = buf.slice(0, k).trim(); buf = buf.slice(k + 1); if (line) push(line); }
  });
  const end = () => { stdinEnded = true; push('release'); };
  process.stdin.on('end', end); process.stdin.on('error', end);
  process.stdin.resume();
}

async function idleMode() {
  const N = args.n;
  const tok = Array.from({ length: N }, (_, i) => token(100000 + i)); // one user (and token) per connection
  const all = [], socks = []; // every socket opened; the ones that are up
  let dropped = 0, next = 0, up = 0;
  let releasing = false;
  const cpu0 = process.cpuUsage();
  const srv0 = serverCpuMs();
  const t0 = performance.now();
  async function worker() {
    while (next < N) {
      const i = next++;
      await new Promise((resolve) => {
        const s = connect(i, tok[i], false);
        all.push(s);
        s.on('connect_error', (e) => { clearTimeout(to); err('connect_error', e && e.message); resolve(); });
        const to = setTimeout(() => { err('timeout-idle-connect'); resolve(); }, args.stepTimeout);
        s.on('connection-quality', () => { clearTimeout(to); up++; socks.push(s); resolve(); });
        s.on('disconnect', (reason) => { if (!releasing) { dropped++; err('idle-disconnect', reason); } });
      });
    }
  }
  listenStdin();
  await Promise.all(Array.from({ length: Math.min(args.connectParallel, N) }, worker));
  const tUp = performance.now();
  const srvUp = serverCpuMs();
  log(`${up}/${N} idle connections up in ${((tUp - t0) / 1000).toFixed(2)} s`);
  process.stdout.write('HELD ' + JSON.stringify({ up, n: N }) + '\n');
  let cmd = await readCommand(10 * 60 * 1000);
  let waiting = null;
  if (cmd === 'search') {
    // Every held user searches in a way that cannot match: strict mode with an interest nobody
    // else has, so each stays in the queue (`waiting-for-partner`) until released.
    let n = 0, matched = 0;
    const tw = performance.now();
    await Promise.all(socks.map((s, i) => new Promise((resolve) => {
      const to = setTimeout(() => { err('timeout-waiting'); resolve(); }, args.stepTimeout);
      s.once('waiting-for-partner', () => { clearTimeout(to); n++; resolve(); });
      s.on('match-found', () => { matched++; err('idle-matched'); });
      s.on('error', (d) => { clearTimeout(to); err('server-error', JSON.stringify(d)); resolve(); });
      s.on('rate-limited', (d) => { clearTimeout(to); err('server-rate-limited', JSON.stringify(d)); resolve(); });
      s.emit('find-partner', { interests: [`w${RUN_ID}-${i}`], strict: true });
    })));
    waiting = { waiting: n, matched, search_s: round((performance.now() - tw) / 1000, 3) };
    log(`${n}/${socks.length} users waiting in ${waiting.search_s} s`);
    process.stdout.write('WAITING ' + JSON.stringify(waiting) + '\n');
    cmd = await readCommand(10 * 60 * 1000);
  }
  const heldMs = performance.now() - tUp;
  releasing = true;
  for (const s of all) s.disconnect();
  const cpu1 = process.cpuUsage(cpu0);
  const errorsTotal = Object.values(stats.errors).reduce((a, b) => a + b, 0);
  return {
    mode: 'idle', label: args.label, url: args.url, n: N, up, dropped_while_held: dropped,
    connect_s: round((tUp - t0) / 1000, 3), held_s: round(heldMs / 1000, 2), waiting,
    server_cpu_ms_per_connect: up ? round((srvUp - srv0) / up, 3) : null,
    loadgen_cpu_pct_while_connecting: round(100 * ((cpu1.user + cpu1.system) / 1000) / (performance.now() - t0), 1),
    errors: errorsTotal, error_kinds: stats.errors,
  };
}

// ---------------------------------------------------------------- main
(async () => {
  let result;
  try {
    result = args.mode === 'idle' ? await idleMode() : await loadMode();
  } catch (e) {
    log('fatal:', e && e.stack || e);
    process.exitCode = 2;
    result = { mode: args.mode, fatal: String(e) };
  }
  process.stdout.write('RESULT ' + JSON.stringify(result) + '\n');
  // give the close frames a moment to leave, then exit even if a socket lingers
  setTimeout(() => process.exit(process.exitCode || 0), 300).unref();
})();
process.on('SIGTERM', () => process.exit(3));
process.on('SIGINT', () => process.exit(3));
