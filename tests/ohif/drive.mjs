// Drives headless Chromium (Debian's /usr/bin/chromium, over the DevTools protocol through
// playwright-core) through the OHIF viewer for tests/ohif_viewer.rs. One browser serves every
// case; each case gets a fresh browser context (no state carried over).
//
// Usage: node drive.mjs BASE_URL
// Then one JSON request per line on stdin, one JSON answer per line on stdout:
//   {"study": UID, "series": [UID, ...], "sop": CT SOP Instance UID to show, "out": DIR}
// For each request the viewer opens the study (only the listed series) with the @ohif/seg hanging
// protocol (the SEG on its CT, hydrated without a prompt), opens the segmentation panel, goes to
// the CT image `sop`, and takes stable screenshots of the viewport canvas into DIR: shot-0.png
// with every segment shown, then shot-N.png after hiding the Nth segment row in the panel
// (through its eye button), and page.png of the whole window. The answer lists what the panel
// showed (segment labels and swatch colours) and the screenshot paths; the test judges them.
import { chromium } from 'playwright-core';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';

const base = process.argv[2];
const CHROMIUM = process.env.PAVSEG_CHROMIUM || '/usr/bin/chromium';
const TIMEOUT_MS = 60_000;
// Viewport screenshots show the canvas alone: no overlay text, icon or notification (an error
// toast is red) over it.
const CANVAS_ONLY =
  'body * { visibility: hidden !important; } canvas.cornerstone-canvas { visibility: visible !important; }';

const browser = await chromium.launch({
  executablePath: CHROMIUM,
  headless: true,
  args: [
    '--no-sandbox',
    // WebGL2 without a GPU.
    '--use-angle=swiftshader',
    '--enable-unsafe-swiftshader',
    // On a closed network, background connections are refused and slow everything down.
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--disable-default-apps',
    '--disable-extensions',
  ],
});

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Screenshots of `locator` until two in a row are identical (the viewport has settled). */
async function stableShot(locator, file) {
  let last = null;
  for (let i = 0; i < 20; i++) {
    const buf = await locator.screenshot({ animations: 'disabled', style: CANVAS_ONLY });
    if (last && buf.equals(last)) {
      fs.writeFileSync(file, buf);
      return true;
    }
    last = buf;
    await sleep(300);
  }
  fs.writeFileSync(file, last);
  return false;
}

async function runCase(req) {
  fs.mkdirSync(req.out, { recursive: true });
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 }, deviceScaleFactor: 1 });
  // The onboarding tour would cover the viewer.
  await context.addInitScript(() => localStorage.setItem('shownTours', JSON.stringify(['basicViewerTour'])));
  // Nothing leaves the machine: only this server (and data:/blob: URLs).
  await context.route('**/*', (route) => {
    const u = new URL(route.request().url());
    if (u.origin === new URL(base).origin || u.protocol === 'data:' || u.protocol === 'blob:') route.continue();
    else route.abort();
  });
  const page = await context.newPage();
  const log = [];
  page.on('console', (m) => {
    if (m.type() === 'error') log.push(m.text().slice(0, 400));
  });
  page.on('pageerror', (e) => log.push(`pageerror: ${e.message.slice(0, 400)}`));
  const answer = { labels: [], colours: [], shots: [], log };
  try {
    const query = new URLSearchParams({
      StudyInstanceUIDs: req.study,
      SeriesInstanceUIDs: req.series.join(','),
      hangingprotocolId: '@ohif/seg',
    });
    answer.url = `${base}/viewer?${query}`;
    await page.goto(answer.url);
    await page.locator('[data-cy=panelSegmentation-btn]').click({ timeout: TIMEOUT_MS });
    const rows = page.locator('[data-cy=data-row]');
    try {
      await rows.first().waitFor({ timeout: TIMEOUT_MS });
    } catch {
      answer.note = 'the segmentation panel listed no segment';
    }
    answer.labels = await page.locator('[data-cy=data-row-title]').allInnerTexts();
    answer.colours = await page
      .locator('[data-cy=data-row-colorhex]')
      .evaluateAll((els) => els.map((e) => getComputedStyle(e).backgroundColor));
    // Go to the requested CT image, as scrolling there would.
    const where = await page.waitForFunction(
      (sop) => {
        for (const engine of window.cornerstone?.getRenderingEngines?.() ?? []) {
          for (const vp of engine.getViewports()) {
            const ids = vp.getImageIds?.() ?? [];
            const index = ids.findIndex((id) => id.includes(`/instances/${sop}/`));
            if (index >= 0) {
              if (vp.getCurrentImageIdIndex() !== index) vp.setImageIdIndex(index);
              return { index, count: ids.length };
            }
          }
        }
        return null;
      },
      req.sop,
      { timeout: TIMEOUT_MS, polling: 250 },
    );
    Object.assign(answer, await where.jsonValue());
    await page
      .locator('[data-cy=viewport-overlay-bottom-right]')
      .filter({ hasText: `(${answer.index + 1}/${answer.count})` })
      .waitFor({ timeout: TIMEOUT_MS });
    const canvas = page.locator('[data-cy=viewport-pane] canvas.cornerstone-canvas').first();
    const shoot = async () => {
      const file = path.join(req.out, `shot-${answer.shots.length}.png`);
      await stableShot(canvas, file);
      answer.shots.push(file);
    };
    await shoot();
    await page.screenshot({ path: path.join(req.out, 'page.png') });
    const toggles = page.locator('[data-cy=data-row-visibility-toggle]');
    for (let i = 0; i < (await toggles.count()); i++) {
      const toggle = toggles.nth(i);
      await toggle.click();
      await page.waitForFunction((el) => el.getAttribute('aria-label') === 'Show', await toggle.elementHandle(), {
        timeout: TIMEOUT_MS,
      });
      await shoot();
    }
    await page.screenshot({ path: path.join(req.out, 'page-hidden.png') });
  } catch (e) {
    answer.error = String(e.message || e).slice(0, 2000);
    await page.screenshot({ path: path.join(req.out, 'page-error.png') }).catch(() => {});
  }
  await context.close();
  return answer;
}

console.log(JSON.stringify({ ready: true, chromium: browser.version() }));
const lines = readline.createInterface({ input: process.stdin });
for await (const line of lines) {
  if (!line.trim()) continue;
  let answer;
  try {
    answer = await runCase(JSON.parse(line));
  } catch (e) {
    answer = { error: String(e.message || e) };
  }
  console.log(JSON.stringify(answer));
}
await browser.close();
