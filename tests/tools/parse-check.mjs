// Read an output folder of cs-segment with parsers nobody here wrote:
// every HLS playlist with hls-parser in its strict mode (the spec's rules as
// an independent implementation reads them), the DASH MPD with mpd-parser
// (and every segment it lists must be a file of the folder, but for a live
// MPD's last: the segment being written).
//
//   node tests/tools/parse-check.mjs DIR
//
// Prints one line per file ("ok FILE ...") and exits 1 at the first file a
// parser rejects, naming it and the parser's message.
import fs from 'node:fs';
import path from 'node:path';
import HLS from 'hls-parser';
import { parse as parseMpd } from 'mpd-parser';

const dir = process.argv[2];
if (!dir) {
  console.error('usage: parse-check.mjs DIR');
  process.exit(2);
}
HLS.setOptions({ strictMode: true, silent: true });

function fail(file, msg) {
  console.error(`parse-check: '${file}': ${msg}`);
  process.exit(1);
}

function checkHls(rel) {
  const file = path.join(dir, rel);
  let pl;
  try {
    pl = HLS.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    fail(rel, e.message);
  }
  if (pl.isMasterPlaylist) {
    console.log(`ok ${rel} variants=${pl.variants.length}`);
    return;
  }
  const parts = pl.segments.reduce((n, s) => n + s.parts.length, 0);
  console.log(`ok ${rel} segments=${pl.segments.length} parts=${parts}`);
}

function checkMpd(rel) {
  const file = path.join(dir, rel);
  let m;
  try {
    m = parseMpd(fs.readFileSync(file, 'utf8'), {
      manifestUri: 'http://127.0.0.1/' + rel, NOW: Date.now(), clientOffset: 0,
    });
  } catch (e) {
    fail(rel, e.message);
  }
  const lists = [...(m.playlists || [])];
  for (const g of Object.values(m.mediaGroups?.AUDIO || {}))
    for (const r of Object.values(g)) lists.push(...(r.playlists || []));
  if (!lists.length)
    fail(rel, 'no representation');
  let n = 0;
  for (const p of lists) {
    if (!p.segments?.length)
      fail(rel, `representation '${p.attributes?.NAME}' lists no segment`);
    p.segments.forEach((s, i) => {
      const local = path.join(dir, path.dirname(rel), s.uri);
      // a live MPD names the segment being written (its last) ahead
      const open = !p.endList && i === p.segments.length - 1;
      if (!open && !fs.existsSync(local))
        fail(rel, `lists '${s.uri}', which is not in the folder`);
      n++;
    });
  }
  console.log(`ok ${rel} type=${lists[0].endList ? 'static' : 'dynamic'} ` +
              `representations=${lists.length} segments=${n}`);
}

let any = 0;
if (fs.existsSync(path.join(dir, 'master.m3u8'))) {
  checkHls('master.m3u8');
  any++;
}
for (const d of fs.readdirSync(dir).sort()) {
  if (fs.existsSync(path.join(dir, d, 'index.m3u8'))) {
    checkHls(path.join(d, 'index.m3u8'));
    any++;
  }
}
if (fs.existsSync(path.join(dir, 'manifest.mpd'))) {
  checkMpd('manifest.mpd');
  any++;
}
if (!any)
  fail(dir, 'no playlist and no MPD');
