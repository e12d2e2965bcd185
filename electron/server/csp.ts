/**
 * The renderer's Content-Security-Policy. renderer/index.html carries the same policy in a meta tag
 * (what Electron's file:// page gets); the browser-mode server also sends it as a header, where
 * `frame-ancestors` works too. tests/electron/security.test.ts checks the two agree.
 */
export const CSP_DIRECTIVES = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data: blob:",
  // Previews play WAV blobs the renderer builds from PCM.
  "media-src 'self' blob:",
  // Browser mode's WebSocket (NOTE: older Chromium does not count ws: as 'self').
  "connect-src 'self' ws://127.0.0.1:* ws://localhost:*",
  "font-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "object-src 'none'",
] as const;

export const CONTENT_SECURITY_POLICY = [...CSP_DIRECTIVES, "frame-ancestors 'none'"].join('; ');
export const META_CONTENT_SECURITY_POLICY = CSP_DIRECTIVES.join('; ');
