// When the partner's first frame was shown and when the blur went (performance.now(),
// a 20 ms poll), for bench/pageload.py and tests/e2e/test_safe_view_timing.py alike:
// the figures are reported, never asserted.
window.__moments = { firstFrame: null, veiled: false, unveiled: null };
setInterval(() => {
  const v = document.querySelector('[data-testid=remote-video]');
  const m = window.__moments;
  if (!v || !v.srcObject) return;
  const now = performance.now();
  if (m.firstFrame === null && v.videoWidth > 0 && v.readyState >= 2) m.firstFrame = now;
  // no veil is drawn while "Connecting" covers the video: only a veil seen, then gone, counts
  if (m.firstFrame !== null && v.dataset.veiled === 'true') m.veiled = true;
  if (m.veiled && m.unveiled === null && v.dataset.veiled === 'false') m.unveiled = now;
}, 20);
