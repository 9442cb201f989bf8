import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

// One build serves /painel/ and /admin/: the gateway serves dist/ under
// both prefixes (SPA fallback to index.html), assets are addressed under
// /painel/ (which the same origin always serves), and the router picks
// the area from the first path segment (src/main.tsx).
export default defineConfig({
  base: '/painel/',
  plugins: [react()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    sourcemap: false,
    chunkSizeWarningLimit: 300,
  },
});
