import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

export default defineConfig({
  plugins: [react()],
  base: '/',
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: false },
  // `npm run dev` against a running stack: the gateway serves /api, /dicom-web and /viewer.
  server: { proxy: { '/api': 'http://localhost:8080', '/dicom-web': 'http://localhost:8080', '/viewer': 'http://localhost:8080' } },
});
