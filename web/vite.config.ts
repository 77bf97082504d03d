import { defineConfig } from 'vite';

// No React plugin: the bundler's own transform handles TSX with the automatic runtime.
// Pages are loaded on demand (App.tsx); LiveKit's client, which the lobby and the talk share,
// is a chunk of its own, so a change to DISCO's code does not make browsers fetch it again.
export default defineConfig({
  base: '/',
  build: {
    outDir: 'dist',
    sourcemap: false,
    chunkSizeWarningLimit: 600,
    rolldownOptions: {
      output: {
        codeSplitting: {
          groups: [{ name: 'livekit', test: /node_modules[\\/](livekit-client|@livekit[\\/]protocol)[\\/]/ }],
        },
      },
    },
  },
  server: { proxy: { '/api': 'http://127.0.0.1:8080' } },
});
