/**
 * The web UI's build: `node bin/build.js` (what npm start and npm test run) builds it into
 * dist/ui, which `vxflow dashboard` serves. For working on it: `npx vite dashboard/ui` with a
 * dashboard on 127.0.0.1:8080 (VXFLOW_DEV_API to point elsewhere) proxies the API.
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const root = fileURLToPath(new URL('.', import.meta.url));

export default defineConfig({
  root,
  base: '/',
  logLevel: 'warn',
  publicDir: false,
  build: {
    outDir: fileURLToPath(new URL('../../dist/ui', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
    reportCompressedSize: false,
    chunkSizeWarningLimit: 1024,
  },
  server: {
    proxy: Object.fromEntries(
      ['/api', '/docs', '/healthz'].map((p) => [p, process.env.VXFLOW_DEV_API ?? 'http://127.0.0.1:8080']),
    ),
  },
});
