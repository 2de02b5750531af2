import { useEffect } from 'react';
import type { RoomState } from '../lib/callController';
import { saveInterests } from '../lib/interests';
import { savePrivacy } from '../lib/privacy';

/** Keep interests, strict and "Hide my IP" for the next visit (read back in useCallController). */
export function useRememberedPreferences(state: RoomState | null): void {
  const interests = state?.interests;
  const strict = state?.strict;
  const privacy = state?.privacy;
  useEffect(() => {
    if (interests !== undefined && strict !== undefined) saveInterests(window.localStorage, interests, strict);
  }, [interests, strict]);
  useEffect(() => {
    if (privacy !== undefined) savePrivacy(window.localStorage, privacy);
  }, [privacy]);
}
