import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

// The built page is served by `randomchat serve` at `/` (same origin as the
// API and the Socket.IO namespace), so assets use absolute paths from `/`.
export default defineConfig({
  plugins: [react()],
  base: '/',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // No public source maps: the server would hand the whole source to anyone
    // (randomchat.static also refuses a stale .map). `npm run dev` keeps them.
    sourcemap: false,
    // Two pages in one build: the chat (index.html) and the moderation console
    // (admin.html, served at /admin), sharing the hashed assets under /assets.
    rollupOptions: { input: { main: 'index.html', admin: 'admin.html' } },
  },
  // Workers (the proof of work, the nudity classifier) are ES modules: the
  // classifier's worker loads the nsfwjs model files as chunks of our own
  // bundle (code splitting needs 'es'), served from /assets like the rest.
  worker: { format: 'es' },
  server: {
    // `npm run dev` against a locally running `randomchat serve` on :3000 (its default).
    proxy: {
      '/api': 'http://127.0.0.1:3000',
      '/socket.io': { target: 'ws://127.0.0.1:3000', ws: true },
    },
  },
});
