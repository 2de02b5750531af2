import { useEffect, useState } from 'react';
import { fetchPrivacyMode, type PrivacyChoice } from '../lib/privacyMode';

/**
 * Whether this server can hide the user's IP address (privacyMode.ts), asked
 * once when the room opens: the page may have been reloaded with a kept token,
 * so what the join form fetched is not at hand.
 */
export function usePrivacyMode(): PrivacyChoice {
  const [choice, setChoice] = useState<PrivacyChoice>('loading');
  useEffect(() => {
    let live = true;
    void fetchPrivacyMode().then((mode) => live && setChoice(mode));
    return () => {
      live = false;
    };
  }, []);
  return choice;
}
