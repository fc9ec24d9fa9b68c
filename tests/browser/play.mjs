// Play a stream in headless Chromium and report what the player did, as one
// JSON object on stdout. Used by the bats tests (segment, serve, end-to-end).
//
//   node tests/browser/play.mjs --url http://127.0.0.1:P/master.m3u8 \
//        [--kind hls|dash|shaka|page] [--seconds 8] [--switch] [--lowlatency]
//        [--warmup S] [--target S] [--start-wait S] [--trace]
//
// --trace: every sample as [seconds, latency, playback rate] in .trace.
//
// --warmup S also leaves out of the page's latency (.latency) the samples
// of its first S seconds of playing (a join, and a catch-up after it);
// .stalledSamples counts the samples after it where the video stood still.
//
// --start-wait S: the --seconds of sampling begin when the video first
// plays, up to S seconds after the page opened (a busy machine starts a
// player late; what the test checks is how it plays once it has started).
//
// dash and shaka report liveLatency: the player's own latency (from the
// MPD's clock), the mean of the first and of the last 10 s of the samples
// taken after --warmup seconds (a low-latency player catches up first);
// --target sets the latency they aim at (else the MPD's ServiceDescription).
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
const args = { kind: 'hls', seconds: 8, switch: false, lowlatency: false, interval: 500,
               warmup: 0, target: 0, 'start-wait': 0 };
for (let i = 2; i < process.argv.length; i++) {
  const a = process.argv[i].replace(/^--/, '');
  if (a === 'switch' || a === 'lowlatency' || a === 'trace') args[a] = true;
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

const dashInit = ({ url, lowLatency, target }) => {
  const v = document.getElementById('v');
  const p = dashjs.MediaPlayer().create();
  window.dashPlayer = p;
  p.on(dashjs.MediaPlayer.events.ERROR, (e) => {
    window.report.errors.push(JSON.stringify(e.error || e).slice(0, 200));
  });
  // low latency: the MPD's ServiceDescription sets the target and the
  // rates; catch-up on
  if (lowLatency)
    p.updateSettings({ streaming: { liveCatchup: { enabled: true } } });
  if (target > 0)   // ours, not the MPD's (which would override it)
    p.updateSettings({ streaming: { applyServiceDescription: false,
      delay: { liveDelay: target },
      liveCatchup: { enabled: true, playbackRate: { min: -0.1, max: 0.5 } } } });
  p.initialize(v, url, true);
  window.liveLatency = () => {
    const l = p.getCurrentLiveLatency();
    return Number.isFinite(l) && l > 0 ? l : null;
  };
};

const shakaInit = async ({ url, lowLatency, target }) => {
  const v = document.getElementById('v');
  shaka.polyfill.installAll();
  const p = new shaka.Player();
  window.shakaPlayer = p;
  await p.attach(v);
  p.addEventListener('error', (e) => {
    window.report.errors.push(String(e.detail && e.detail.code));
  });
  if (lowLatency)
    p.configure({ streaming: { lowLatencyMode: true, liveSync: { enabled: true } } });
  if (target > 0)
    // Shaka leaves latency alone while it is within the tolerance of the
    // target (0.5 s by default): a stall's step of up to 0.5 s would stay
    // for good; 0.1 s makes it catch up after every stall
    p.configure({ streaming: { liveSync: { targetLatency: target,
                                           targetLatencyTolerance: 0.1,
                                           maxPlaybackRate: 1.5 } } });
  window.liveLatency = () => {
    const d = p.getPlayheadTimeAsDate();
    return d && v.currentTime > 0 ? (Date.now() - d.getTime()) / 1000 : null;
  };
  try {
    await p.load(url);
    v.play().catch(() => {});
  } catch (e) {
    window.report.errors.push('load:' + (e && e.code));
  }
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
    } else if (args.kind === 'shaka') {
      await page.addScriptTag({ path: path.join(root, 'node_modules/shaka-player/dist/shaka-player.compiled.js') });
      await page.evaluate(shakaInit, { url: args.url, lowLatency: args.lowlatency,
                                           target: Number(args.target) });
    } else {
      await page.addScriptTag({ path: path.join(root, 'node_modules/dashjs/dist/modern/umd/dash.all.min.js') });
      await page.evaluate(dashInit, { url: args.url, lowLatency: args.lowlatency,
                                      target: Number(args.target) });
    }
  }
  const t0 = Date.now();
  const samples = [];
  const latencies = [];
  // the warm-up in samples, counted from the first one that played
  const warm = Math.ceil(Number(args.warmup) * 1000 / Number(args.interval));
  let played = -1;
  let switchedAt = -1;
  const startWait = Number(args['start-wait']) * 1000;
  let started = startWait > 0 ? 0 : t0;
  while (started ? Date.now() - started < args.seconds * 1000
                 : Date.now() - t0 < startWait + args.seconds * 1000) {
    await page.waitForTimeout(Number(args.interval));
    const s = await page.evaluate(() => {
      const v = document.querySelector('video');
      const r = window.report || {};
      const p = window.csPlayer || null;
      return { t: v ? v.currentTime : -1, paused: v ? v.paused : true,
               live: window.liveLatency ? window.liveLatency() : null,
               rate: v ? v.playbackRate : 1,
               width: v ? v.videoWidth : 0, height: v ? v.videoHeight : 0,
               level: r.level, levels: r.levels, errors: r.errors || [],
               player: p ? JSON.parse(JSON.stringify(p)) : null };
    });
    samples.push(s);
    if (!started && s.t > 0)
      started = Date.now();
    if (played < 0 && s.t > 0)
      played = samples.length - 1;      // the first sample that played
    if (s.player && typeof s.player.latencyMs === 'number' && s.t > 0 &&
        samples.length - 1 - played >= warm)
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
  // the player's own latency (dash.js, Shaka: from the MPD's clock), the
  // mean of the first and of the last ten seconds of playing
  const live = samples.map((x, i) => ({ t: (i + 1) * Number(args.interval) / 1000, l: x.live }))
    .filter((x) => typeof x.l === 'number' && x.t >= Number(args.warmup));
  if (args.trace)   // each sample: seconds, latency, playback rate
    out.trace = samples.map((x, i) => [(i + 1) * Number(args.interval) / 1000,
                                       x.live === null ? null : Math.round(x.live * 1000) / 1000,
                                       x.rate]);
  if (live.length) {
    const t0 = live[0].t, tn = live[live.length - 1].t;
    const mean = (a) => a.reduce((n, x) => n + x.l, 0) / Math.max(a.length, 1);
    const first = live.filter((x) => x.t < t0 + 10), lastw = live.filter((x) => x.t > tn - 10);
    out.liveLatency = { samples: live.length, seconds: tn - t0,
                        first10: mean(first), last10: mean(lastw),
                        min: Math.min(...live.map((x) => x.l)),
                        max: Math.max(...live.map((x) => x.l)),
                        rate: last.rate };
    const sorted = live.map((x) => x.l).sort((a, b) => a - b);
    out.liveLatency.medianMs = Math.round(1000 * sorted[Math.floor(sorted.length / 2)]);
    out.liveLatency.p95Ms = Math.round(1000 * sorted[Math.min(sorted.length - 1,
                                                           Math.floor(sorted.length * 0.95))]);
    out.liveLatency.drift = out.liveLatency.last10 - out.liveLatency.first10;
  }
  if (latencies.length) {
    const l = [...latencies].sort((a, b) => a - b);
    out.latency = { samples: l.length, medianMs: l[Math.floor(l.length / 2)],
                    p95Ms: l[Math.min(l.length - 1, Math.floor(l.length * 0.95))],
                    minMs: l[0], maxMs: l[l.length - 1] };
  }
  // stalls after the warm-up: samples where a playing video did not move
  const from = Math.max(1, played + warm);
  out.stalledSamples = played < 0 ? null : samples.slice(from)
    .filter((x, i) => !x.paused && x.t === samples[from + i - 1].t).length;
  out.ok = last.t > 0 && out.errors.length === 0;
} catch (e) {
  out.errors.push(String(e && e.message || e));
} finally {
  await browser.close();
}
console.log(JSON.stringify(out));
