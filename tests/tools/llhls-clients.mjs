#!/usr/bin/env node
// llhls-clients.mjs: many light LL-HLS clients in one process, for
// tests/edgesim.bats and bench/edgesim.sh. Not a player: each client reads
// the master playlist once, then follows its first rendition part by part
// with blocking playlist reloads (_HLS_msn/_HLS_part), fetching every part
// in order, as a low-latency player does (RFC 8216bis 6.2.5, 6.3.4).
//
//   node llhls-clients.mjs --url http://EDGE1/live/master.m3u8 \
//       --url http://EDGE2/live/master.m3u8 --clients 100 --seconds 40 \
//       [--arrivals FILE]
//
// Client i uses URL i mod N. A failed request (network error, status other
// than 200) is tried again up to 4 times, 0.25 s apart (counted in
// "retries"); a request that still fails is an error and ends that client
// (counted in "errors", the first few described in "error_list").
// Prints one JSON object: per-client worst gap between two consecutive
// parts arriving ("max_gap_s", and the worst over all clients), parts
// skipped in the sequence ("skipped_parts"), the arrival of each part
// against its end on the EXT-X-PROGRAM-DATE-TIME clock ("delay_vs_pdt":
// p50/p95 in ms; that clock is the packager's, set when its first packet
// is read, so it may run ahead of the media by the input's probing), and
// what each client fetched.
import fs from 'node:fs';
import http from 'node:http';

function parseArgs(argv) {
    const a = { url: [], clients: 100, seconds: 30, arrivals: null };
    for (let i = 2; i < argv.length; i++) {
        const k = argv[i], v = argv[++i];
        if (k === '--url') a.url.push(v);
        else if (k === '--clients') a.clients = +v;
        else if (k === '--seconds') a.seconds = +v;
        else if (k === '--arrivals') a.arrivals = v;
        else throw new Error(`unknown argument '${k}'`);
    }
    if (!a.url.length) throw new Error('missing --url');
    return a;
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 1000 });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function get(url, timeoutMs) {
    return new Promise((resolve) => {
        const req = http.get(url, { agent, timeout: timeoutMs }, (res) => {
            const chunks = [];
            res.on('data', (c) => chunks.push(c));
            res.on('end', () => resolve({ status: res.statusCode,
                body: Buffer.concat(chunks),
                cache: res.headers['x-cache-status'] || '' }));
            res.on('error', (e) => resolve({ status: 0, error: e.message }));
        });
        req.on('timeout', () => req.destroy(new Error('timed out')));
        req.on('error', (e) => resolve({ status: 0, error: e.message }));
    });
}

// A media playlist: its parts in order with (msn, idx), the number of parts
// of each complete segment, the wall clock at the end of each part.
function parsePlaylist(text) {
    const pl = { parts: [], nparts: new Map(), ended: false, target: 0 };
    let msn = 0, idx = 0, segStart = null, partEnd = null, extinf = 0;
    for (const line of text.split('\n')) {
        if (line.startsWith('#EXT-X-MEDIA-SEQUENCE:')) {
            msn = parseInt(line.slice(22), 10);
        } else if (line.startsWith('#EXT-X-TARGETDURATION:')) {
            pl.target = parseFloat(line.slice(22));
        } else if (line.startsWith('#EXT-X-PROGRAM-DATE-TIME:')) {
            segStart = Date.parse(line.slice(25));
            partEnd = segStart;
        } else if (line.startsWith('#EXT-X-PART:')) {
            const d = parseFloat(/DURATION=([0-9.]+)/.exec(line)[1]);
            const uri = /URI="([^"]+)"/.exec(line)[1];
            if (partEnd !== null) partEnd += d * 1000;
            pl.parts.push({ msn, idx, uri, dur: d, end: partEnd });
            idx++;
        } else if (line.startsWith('#EXTINF:')) {
            extinf = parseFloat(line.slice(8));
        } else if (line.startsWith('#EXT-X-ENDLIST')) {
            pl.ended = true;
        } else if (line && !line.startsWith('#')) {
            if (idx) pl.nparts.set(msn, idx);
            if (segStart !== null) segStart += extinf * 1000;
            partEnd = segStart;
            msn++;
            idx = 0;
        }
    }
    return pl;
}

const after = (p, c) => p.msn > c.msn || (p.msn === c.msn && p.idx > c.idx);

// The part that follows C, as far as PL knows.
function nextOf(c, pl) {
    const n = pl.nparts.get(c.msn);
    if (n !== undefined && c.idx + 1 >= n) return { msn: c.msn + 1, idx: 0 };
    return { msn: c.msn, idx: c.idx + 1 };
}

class Client {
    constructor(id, url, end, stats) {
        Object.assign(this, { id, url, end, stats });
        this.parts = 0;
        this.maxGap = 0;
        this.skipped = 0;
        this.lastArrival = null;
        this.error = null;
    }

    // GET with the retry policy; null once it gave up (this.error says why).
    async fetch(url, timeoutMs) {
        let r;
        for (let i = 0; i < 5; i++) {
            if (i) {
                this.stats.retries++;
                await sleep(250);
            }
            r = await get(url, timeoutMs);
            this.stats.requests++;
            if (r.status === 200) return r;
        }
        this.error = `${url}: ${r.error || 'HTTP ' + r.status}`;
        return null;
    }

    async fetchPart(base, p) {
        const url = new URL(p.uri, base);
        const r = await this.fetch(url.href, 10000);
        if (!r) return false;
        const now = Date.now();
        this.stats.arrivals.push(`${url.pathname} ${now}`);
        if (this.lastArrival !== null)
            this.maxGap = Math.max(this.maxGap, (now - this.lastArrival) / 1000);
        this.lastArrival = now;
        this.parts++;
        if (r.cache === 'HIT') this.stats.partHits++;
        if (p.end !== null) this.stats.delays.push(now - p.end);
        return true;
    }

    async run() {
        const m = await this.fetch(this.url, 10000);
        if (!m) return;
        const uri = m.body.toString().split('\n').find((l) => l && !l.startsWith('#'));
        const media = new URL(uri, this.url).href;
        const first = await this.fetch(media, 10000);
        if (!first) return;
        let pl = parsePlaylist(first.body.toString());
        let cur = pl.parts[pl.parts.length - 1];
        if (!cur || !(await this.fetchPart(media, cur))) {
            this.error = this.error || `${media}: no part listed`;
            return;
        }
        while (Date.now() < this.end && !pl.ended) {
            const want = nextOf(cur, pl);
            const r = await this.fetch(`${media}?_HLS_msn=${want.msn}&_HLS_part=${want.idx}`, 20000);
            if (!r) return;
            pl = parsePlaylist(r.body.toString());
            for (const p of pl.parts) {
                if (!after(p, cur)) continue;
                const expect = nextOf(cur, pl);
                if (p.msn !== expect.msn || p.idx !== expect.idx) this.skipped++;
                if (!(await this.fetchPart(media, p))) return;
                cur = p;
            }
        }
    }
}

function pct(sorted, q) {
    if (!sorted.length) return null;
    return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

async function main() {
    const a = parseArgs(process.argv);
    const end = Date.now() + a.seconds * 1000;
    const stats = { requests: 0, retries: 0, partHits: 0, delays: [],
                    arrivals: [] };
    const clients = [];
    for (let i = 0; i < a.clients; i++)
        clients.push(new Client(i, a.url[i % a.url.length], end, stats));
    // start them over one second, not all in the same millisecond
    await Promise.all(clients.map((c, i) => sleep((1000 * i) / a.clients).then(() => c.run())));
    agent.destroy();
    if (a.arrivals) fs.writeFileSync(a.arrivals, stats.arrivals.join('\n') + '\n');
    const d = stats.delays.sort((x, y) => x - y);
    const errs = clients.filter((c) => c.error);
    console.log(JSON.stringify({
        clients: a.clients,
        errors: errs.length,
        error_list: errs.slice(0, 5).map((c) => `client ${c.id}: ${c.error}`),
        retries: stats.retries,
        requests: stats.requests,
        parts: clients.reduce((s, c) => s + c.parts, 0),
        min_parts_per_client: Math.min(...clients.map((c) => c.parts)),
        part_hit_ratio: stats.partHits / Math.max(1, clients.reduce((s, c) => s + c.parts, 0)),
        skipped_parts: clients.reduce((s, c) => s + c.skipped, 0),
        max_gap_s: Math.max(...clients.map((c) => c.maxGap)),
        delay_vs_pdt_p50_ms: pct(d, 0.5),
        delay_vs_pdt_p95_ms: pct(d, 0.95),
    }));
}

main().catch((e) => {
    console.error(`llhls-clients: ${e.message}`);
    process.exit(2);
});
