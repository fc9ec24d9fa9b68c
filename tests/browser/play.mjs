// Play a stream in headless Chromium and report what the player did, as one
// JSON object on stdout. Used by the bats tests (segment, serve, end-to-end).
//
//   node tests/browser/play.mjs --url http://127.0.0.1:P/master.m3u8 \
//        [--kind hls|dash|page] [--seconds 8] [--switch] [--lowlatency]
//
// hls/dash: a test page is served on the stream's own origin (intercepted by
// the browser, so no CORS is needed) and loads hls.js or dash.js from
// node_modules. page: opens the URL as it is (cs-serve's player page) and
// reads window.csPlayer if the page exposes it.
import { chromium } from 'playwright-core';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');
const args = { kind: 'hls', seconds: 8, switch: false, lowlatency: false, interval: 500 };
for (let i = 2; i < process.argv.length; i++) {
  const a = process.argv[i].replace(/^--/, '');
  if (a === 'switch' || a === 'lowlatency') args[a] = true;
  else args[a] = process.argv[++i];
}
args.seconds = Number(args.seconds);

const pageHtml = `<!doctype html><html><body>
<video id="v" muted autoplay playsinline width="320"></video>
<script>
window.report = { errors: [], levels: 0, level: -1, switched: false };
</script></body></html>`;

const hlsInit = ({ url, lowLatency }) => {
  const v = document.getElementById('v');
  const hls = new Hls({ lowLatencyMode: lowLatency, debug: false });
  window.hls = hls;
  hls.on(Hls.Events.ERROR, (e, d) => {
    if (d.fatal) window.report.errors.push(d.type + ':' + d.details);
  });
  hls.on(Hls.Events.MANIFEST_PARSED, (e, d) => {
    window.report.levels = d.levels.length;
    v.play().catch(() => {});
  });
  hls.on(Hls.Events.LEVEL_SWITCHED, (e, d) => { window.report.level = d.level; });
  hls.loadSource(url);
  hls.attachMedia(v);
};

const dashInit = (url) => {
  const v = document.getElementById('v');
  const p = dashjs.MediaPlayer().create();
  window.dashPlayer = p;
  p.on(dashjs.MediaPlayer.events.ERROR, (e) => {
    window.report.errors.push(JSON.stringify(e.error || e).slice(0, 200));
  });
  p.initialize(v, url, true);
};

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
         '--disable-background-networking', '--disable-component-update',
         '--disable-sync', '--autoplay-policy=no-user-gesture-required'],
});
const out = { ok: false, kind: args.kind, url: args.url, errors: [] };
try {
  const page = await browser.newPage();
  page.on('pageerror', (e) => out.errors.push('pageerror:' + e.message));
  if (args.kind === 'page') {
    await page.goto(args.url);
  } else {
    const u = new URL(args.url);
    const testPage = `${u.origin}/__cs_test_player.html`;
    await page.route(testPage, (r) => r.fulfill({ contentType: 'text/html', body: pageHtml }));
    await page.goto(testPage);
    if (args.kind === 'hls') {
      await page.addScriptTag({ path: path.join(root, 'node_modules/hls.js/dist/hls.min.js') });
      await page.evaluate(hlsInit, { url: args.url, lowLatency: args.lowlatency });
    } else {
      await page.addScriptTag({ path: path.join(root, 'node_modules/dashjs/dist/modern/umd/dash.all.min.js') });
      await page.evaluate(dashInit, args.url);
    }
  }
  const t0 = Date.now();
  const samples = [];
  const latencies = [];
  let switchedAt = -1;
  while (Date.now() - t0 < args.seconds * 1000) {
    await page.waitForTimeout(Number(args.interval));
    const s = await page.evaluate(() => {
      const v = document.querySelector('video');
      const r = window.report || {};
      const p = window.csPlayer || null;
      return { t: v ? v.currentTime : -1, paused: v ? v.paused : true,
               width: v ? v.videoWidth : 0, height: v ? v.videoHeight : 0,
               level: r.level, levels: r.levels, errors: r.errors || [],
               player: p ? JSON.parse(JSON.stringify(p)) : null };
    });
    samples.push(s);
    if (s.player && typeof s.player.latencyMs === 'number' && s.t > 0)
      latencies.push(s.player.latencyMs);
    if (args.switch && args.kind === 'hls' && switchedAt < 0 && s.t > 1 && s.levels > 1) {
      const target = s.level === 0 ? s.levels - 1 : 0;
      await page.evaluate((l) => { window.hls.currentLevel = l; }, target);
      switchedAt = s.t;
      out.switchTarget = target;
    }
  }
  const last = samples[samples.length - 1] || { t: -1, errors: [] };
  const first = samples.find((s) => s.t > 0) || { t: -1 };
  out.firstTime = first.t;
  out.lastTime = last.t;
  out.advanced = last.t - Math.max(first.t, 0);
  out.width = last.width;
  out.height = last.height;
  out.levels = last.levels;
  out.level = last.level;
  out.player = last.player;
  out.switchedAt = switchedAt;
  if (switchedAt >= 0) {
    out.playedAfterSwitch = last.t - switchedAt;
    out.levelAfterSwitch = last.level;
  }
  out.errors.push(...last.errors);
  if (latencies.length) {
    const l = [...latencies].sort((a, b) => a - b);
    out.latency = { samples: l.length, medianMs: l[Math.floor(l.length / 2)],
                    p95Ms: l[Math.min(l.length - 1, Math.floor(l.length * 0.95))],
                    minMs: l[0], maxMs: l[l.length - 1] };
  }
  out.ok = last.t > 0 && out.errors.length === 0;
} catch (e) {
  out.errors.push(String(e && e.message || e));
} finally {
  await browser.close();
}
console.log(JSON.stringify(out));
