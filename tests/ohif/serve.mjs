// The OHIF viewer's web server for tests/ohif_viewer.rs, on 127.0.0.1 only: OHIF's prebuilt
// dist/ as static files (any path that is not a file falls back to index.html, since OHIF's
// routes such as /viewer are client-side), the test's own app-config.js in place of the
// shipped one, and /dicom-web/ passed through to Orthanc on the same origin (no CORS). The
// Host header goes through unchanged: Orthanc's DICOMweb builds its absolute BulkDataURIs
// from it, and they must point back here.
//
// Usage: node serve.mjs DIST_DIR APP_CONFIG_JS ORTHANC_HTTP_PORT
// Prints "listening on http://127.0.0.1:PORT" once it accepts connections.
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';

const [dist, appConfig, orthancPort] = process.argv.slice(2);
if (!dist || !appConfig || !orthancPort) {
  console.error('usage: node serve.mjs DIST_DIR APP_CONFIG_JS ORTHANC_HTTP_PORT');
  process.exit(2);
}
const root = path.resolve(dist);

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.woff': 'font/woff',
  '.ttf': 'font/ttf',
  '.txt': 'text/plain; charset=utf-8',
};

function sendFile(res, file) {
  const type = TYPES[path.extname(file)] || 'application/octet-stream';
  res.writeHead(200, { 'Content-Type': type, 'Cache-Control': 'no-store' });
  fs.createReadStream(file)
    .on('error', (e) => res.destroy(e))
    .pipe(res);
}

function proxy(req, res) {
  const upstream = http.request(
    { host: '127.0.0.1', port: Number(orthancPort), method: req.method, path: req.url, headers: req.headers },
    (up) => {
      res.writeHead(up.statusCode, up.headers);
      up.pipe(res);
    },
  );
  upstream.on('error', (e) => {
    res.writeHead(502, { 'Content-Type': 'text/plain' });
    res.end(`Orthanc on port ${orthancPort} did not answer: ${e.message}`);
  });
  req.pipe(upstream);
}

const server = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://127.0.0.1');
  if (url.pathname.startsWith('/dicom-web/')) return proxy(req, res);
  if (url.pathname === '/app-config.js') return sendFile(res, appConfig);
  // No service worker: every run starts from what this server serves.
  if (url.pathname === '/sw.js') {
    res.writeHead(404);
    return res.end();
  }
  const file = path.join(root, path.normalize(decodeURIComponent(url.pathname)));
  if (file.startsWith(root + path.sep) && fs.statSync(file, { throwIfNoEntry: false })?.isFile()) {
    return sendFile(res, file);
  }
  if (path.extname(url.pathname) && !url.pathname.endsWith('.html')) {
    res.writeHead(404);
    return res.end();
  }
  sendFile(res, path.join(root, 'index.html'));
});

server.listen(0, '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
