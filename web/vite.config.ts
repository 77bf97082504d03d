import { defineConfig } from 'vite';

// No React plugin: the bundler's own transform handles TSX with the automatic runtime.
export default defineConfig({
  base: '/',
  build: { outDir: 'dist', sourcemap: false, chunkSizeWarningLimit: 2000 },
  server: { proxy: { '/api': 'http://127.0.0.1:8080' } },
});
