import { useState } from 'react';
import './evidence.css';

/**
 * The picture a reporter attached (issue 24): blurred until the moderator clicks it,
 * blurred again on a second click. Served only to a signed-in console session, never
 * cached (console/desk.py); mount it with `key={reportId}` so each report starts blurred.
 */
export function ReportPicture({ reportId }: { reportId: number }) {
  const [revealed, setRevealed] = useState(false);
  const [missing, setMissing] = useState(false);
  if (missing) {
    return (
      <p className="muted" data-testid="report-picture-gone">
        The picture is no longer kept.
      </p>
    );
  }
  return (
    <figure className="report-picture" data-testid="report-picture">
      <button
        type="button"
        className="picture-toggle"
        data-testid="picture-reveal"
        aria-pressed={revealed}
        onClick={() => setRevealed((shown) => !shown)}
      >
        <img
          src={`/api/console/reports/${reportId}/picture`}
          alt={`Still of the reported user's video, report #${reportId}`}
          data-testid="report-picture-img"
          data-revealed={revealed ? 'true' : 'false'}
          className={revealed ? '' : 'blurred'}
          onError={() => setMissing(true)}
        />
      </button>
      <figcaption className="muted">
        {revealed ? 'Click the picture to blur it again.' : 'Blurred: click to see it.'} Deleted when the report is closed.
      </figcaption>
    </figure>
  );
}
