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
 * Chromium/Safari: transport.selectedCandidatePairId; Firefox: pair.selected;
 * fallback: a nominated, succeeded pair.
 */
export function selectedPairInfo(report: StatsLike): SelectedPairInfo | null {
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
  if (!pair) return null;

  const local = byId.get(pair.localCandidateId);
  const type = local?.candidateType;
  if (typeof type !== 'string' || !CANDIDATE_TYPES.includes(type)) return null;

  const rtt = pair.currentRoundTripTime;
  const rttMs = typeof rtt === 'number' && Number.isFinite(rtt) ? Math.round(rtt * 1000 * 10) / 10 : null;
  return { candidateType: type as CandidateType, rttMs };
}
