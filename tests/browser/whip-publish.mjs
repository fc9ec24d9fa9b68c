// Publish Chromium's fake camera and microphone over WHIP, as a page from
// another origin would, and report what happened as one JSON object on
// stdout. Used by tests/webrtc.bats.
//
//   node tests/browser/whip-publish.mjs --url http://127.0.0.1:P/live \
//        [--token T] [--seconds 8] [--delete] [--width 640 --height 360]
//        [--via FROM:TO]
//
// The page is served by this script on 127.0.0.1 at a port of its own (a
// real server: Chromium lets only a page on a loopback address reach a
// loopback address), so the POST to the WHIP endpoint is cross-origin and
// needs its CORS answer.
// --delete sends DELETE to the session's Location at the end; without it
// the page just stays until --seconds are up (or the process is killed).
// --via FROM:TO sends the media to port TO where the answer says FROM (a
// relay in between, such as tests/tools/lossy-relay).
import http from 'node:http';
import { chromium } from 'playwright-core';

const args = { seconds: 8, delete: false, width: 640, height: 360, token: '', via: '' };
for (let i = 2; i < process.argv.length; i++) {
  const a = process.argv[i].replace(/^--/, '');
  if (a === 'delete') args[a] = true;
  else args[a] = process.argv[++i];
}

const pageHtml = '<!doctype html><html><body>publisher</body></html>';
const server = http.createServer((req, res) => {
  res.writeHead(200, { 'Content-Type': 'text/html' });
  res.end(pageHtml);
});
await new Promise((done) => server.listen(0, '127.0.0.1', done));
const pageUrl = `http://127.0.0.1:${server.address().port}/publish.html`;

// Runs in the page: offer with every candidate (no trickle), POST it,
// apply the answer, wait until connected.
const publish = async ({ url, token, width, height, via }) => {
  const r = { status: 0, connected: false };
  const media = await navigator.mediaDevices.getUserMedia({
    video: { width: Number(width), height: Number(height), frameRate: 30 },
    audio: true,
  });
  const pc = new RTCPeerConnection();
  window.pc = pc;
  for (const t of media.getTracks())
    pc.addTransceiver(t, { direction: 'sendonly' });
  await pc.setLocalDescription(await pc.createOffer());
  await new Promise((done) => {
    if (pc.iceGatheringState === 'complete') return done();
    pc.addEventListener('icegatheringstatechange', () => {
      if (pc.iceGatheringState === 'complete') done();
    });
    setTimeout(done, 3000);
  });
  const headers = { 'Content-Type': 'application/sdp' };
  if (token) headers.Authorization = 'Bearer ' + token;
  const res = await fetch(url, { method: 'POST', headers, body: pc.localDescription.sdp });
  r.status = res.status;
  r.location = res.headers.get('Location');
  r.etag = res.headers.get('ETag');
  let body = await res.text();
  if (res.status !== 201) {
    r.reason = body.trim();
    return r;
  }
  window.resource = new URL(r.location, url).href;
  if (via) {
    const [from, to] = via.split(':');
    body = body.replaceAll(` 127.0.0.1 ${from} typ host`, ` 127.0.0.1 ${to} typ host`);
  }
  await pc.setRemoteDescription({ type: 'answer', sdp: body });
  r.connected = await new Promise((done) => {
    const check = () => {
      if (pc.connectionState === 'connected') done(true);
      if (pc.connectionState === 'failed') done(false);
    };
    pc.addEventListener('connectionstatechange', check);
    check();
    setTimeout(() => done(pc.connectionState === 'connected'), 10000);
  });
  return r;
};

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--no-first-run',
         '--disable-background-networking', '--disable-component-update',
         '--disable-sync', '--use-fake-device-for-media-stream',
         '--use-fake-ui-for-media-stream'],
});
const out = { ok: false, errors: [] };
try {
  const page = await browser.newPage();
  page.on('pageerror', (e) => out.errors.push('pageerror:' + e.message));
  page.on('console', (m) => { if (m.type() === 'error') out.errors.push('console:' + m.text()); });
  await page.goto(pageUrl);
  Object.assign(out, await page.evaluate(publish, args));
  if (out.connected) {
    await page.waitForTimeout(Number(args.seconds) * 1000);
    out.sent = await page.evaluate(async () => {
      const r = {};
      (await window.pc.getStats()).forEach((s) => {
        if (s.type === 'outbound-rtp')
          r[s.kind] = { packets: s.packetsSent, frames: s.framesEncoded,
                        retransmitted: s.retransmittedPacketsSent,
                        nacks: s.nackCount, plis: s.pliCount,
                        encoder: s.encoderImplementation,
                        limit: s.qualityLimitationReason };
      });
      return r;
    });
    if (args.delete)
      out.deleted = await page.evaluate(async (token) =>
        (await fetch(window.resource, {
          method: 'DELETE',
          headers: token ? { Authorization: 'Bearer ' + token } : {},
        })).status, args.token);
  }
  out.ok = out.connected;
} catch (e) {
  out.errors.push(String(e.message || e).split('\n')[0]);
} finally {
  await browser.close();
  server.close();
}
console.log(JSON.stringify(out));
