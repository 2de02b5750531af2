import type { CandidateType } from './protocol';

const CANDIDATE_TYPES: readonly string[] = ['host', 'srflx', 'prflx', 'relay'];

/** What the call telemetry needs from the selected ICE candidate pair. */
export interface SelectedPairInfo {
  candidateType: CandidateType;
  rttMs: number | null;
}

type StatsLike = { forEach(cb: (value: any, key: string) => void): void; get?(id: string): any };

/**
 * Finds the selected candidate pair in a getStats() report and returns the
 * type of its local candidate and its current round-trip time in ms.
 */
export function selectedPairInfo(report: StatsLike): SelectedPairInfo | null {
  const found = selectedPair(report);
  if (!found) return null;
  const { pair, byId } = found;
  const local = byId.get(pair.localCandidateId);
  const type = local?.candidateType;
  if (typeof type !== 'string' || !CANDIDATE_TYPES.includes(type)) return null;

  const rtt = pair.currentRoundTripTime;
  const rttMs = typeof rtt === 'number' && Number.isFinite(rtt) ? Math.round(rtt * 1000 * 10) / 10 : null;
  return { candidateType: type as CandidateType, rttMs };
}

/**
 * The selected candidate pair of a getStats() report, with every stat by id.
 * Chromium/Safari: transport.selectedCandidatePairId; Firefox: pair.selected;
 * fallback: a nominated, succeeded pair.
 */
function selectedPair(report: StatsLike): { pair: any; byId: Map<string, any> } | null {
  const byId = new Map<string, any>();
  report.forEach((value, key) => byId.set(value?.id ?? key, value));

  let pair: any = null;
  for (const s of byId.values()) {
    if (s.type === 'transport' && s.selectedCandidatePairId) {
      pair = byId.get(s.selectedCandidatePairId) ?? null;
      if (pair) break;
    }
  }
  if (!pair) {
    for (const s of byId.values()) {
      if (s.type === 'candidate-pair' && s.selected === true) { pair = s; break; }
    }
  }
  if (!pair) {
    for (const s of byId.values()) {
      if (s.type === 'candidate-pair' && s.nominated && s.state === 'succeeded') { pair = s; break; }
    }
  }
  return pair ? { pair, byId } : null;
}

/** Whether the selected pair's local and remote candidates are both `relay` (TURN on both sides). */
export function relayedBothWays(report: StatsLike): boolean {
  const found = selectedPair(report);
  if (!found) return false;
  const local = found.byId.get(found.pair.localCandidateId);
  const remote = found.byId.get(found.pair.remoteCandidateId);
  return local?.candidateType === 'relay' && remote?.candidateType === 'relay';
}

/**
 * The "IP hidden" badge's rule: a relay-only call (the server passed on no
 * other candidate, so signaling told the partner no address of ours) whose
 * selected pair is relayed on both sides (getStats(), relayedBothWays). The
 * policy alone proves nothing (the pair is what the browser really used), and
 * a relayed pair in a policy-`all` call is not enough either: there the
 * partner received our host and srflx candidates. Unknown (no reading yet) is
 * no badge.
 */
export function ipHidden(policy: RTCIceTransportPolicy, relayed: boolean | null | undefined): boolean {
  return policy === 'relay' && relayed === true;
}

// ---- media quality -----------------------------------------------------------

/** The quality badge: judged from the call's media, never from the signaling socket. */
export type MediaQuality = 'excellent' | 'good' | 'poor';

/** Counters from one getStats() report. */
export interface MediaSample {
  /** round trip of the selected candidate pair, ms */
  rttMs: number | null;
  /** received and lost RTP packets, all inbound streams (cumulative) */
  packetsReceived: number;
  packetsLost: number;
}

export interface MediaReading {
  quality: MediaQuality;
  rttMs: number | null;
  /** share of packets lost since the previous sample, 0–1 (null: nothing received meanwhile) */
  loss: number | null;
}

/**
 * Thresholds, from ITU-T G.114 (under 150 ms one way is good for conversation;
 * we use the round trip, which is stricter) and from what WebRTC's own
 * bandwidth estimation tolerates (a few per cent of loss are concealed, past
 * 5 % video freezes and audio breaks up).
 */
const EXCELLENT = { rttMs: 150, loss: 0.01 };
const GOOD = { rttMs: 400, loss: 0.05 };

export function mediaSample(report: StatsLike): MediaSample {
  let packetsReceived = 0;
  let packetsLost = 0;
  report.forEach((s) => {
    if (s?.type === 'inbound-rtp') {
      packetsReceived += Number(s.packetsReceived) || 0;
      packetsLost += Math.max(0, Number(s.packetsLost) || 0);
    }
  });
  return { rttMs: selectedPairInfo(report)?.rttMs ?? null, packetsReceived, packetsLost };
}

/** Judge the interval between two samples (the first sample of a call: since its start). */
export function judgeMedia(prev: MediaSample | null, cur: MediaSample): MediaReading {
  const received = cur.packetsReceived - (prev?.packetsReceived ?? 0);
  const lost = cur.packetsLost - (prev?.packetsLost ?? 0);
  const loss = received + lost > 0 ? Math.max(0, lost) / (received + Math.max(0, lost)) : null;
  const rtt = cur.rttMs;
  const within = (limit: { rttMs: number; loss: number }) => (rtt === null || rtt <= limit.rttMs) && (loss === null || loss <= limit.loss);
  // nothing arrived during the interval: the media stalled
  const quality: MediaQuality = received <= 0 && prev !== null ? 'poor' : within(EXCELLENT) ? 'excellent' : within(GOOD) ? 'good' : 'poor';
  return { quality, rttMs: rtt, loss };
}
