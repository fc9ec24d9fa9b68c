/* The player pages: "/" lists the streams, "/<stream>/" plays one with
 * hls.js in low-latency mode (served from --assets), with a rendition
 * picker, bitrate, buffer and the glass-to-glass latency read from the
 * --stamp pattern (lib/media/stamp.h) or from EXT-X-PROGRAM-DATE-TIME.
 * The page exposes window.csPlayer = { latencyMs, latencySource,
 * bitrate, buffer, level, levels, stampMs, errors }. */
#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libavutil/bprint.h>

#include "http/internal.h"

static const char script[] =
    "(function () {\n"
    "  'use strict';\n"
    "  var v = document.getElementById('v');\n"
    "  var src = document.body.getAttribute('data-src');\n"
    "  var info = document.getElementById('info');\n"
    "  var pick = document.getElementById('level');\n"
    "  var st = { latencyMs: null, latencySource: null, bitrate: 0, buffer: 0,\n"
    "             level: -1, levels: 0, stampMs: null, errors: [] };\n"
    "  /* The --stamp pattern (lib/media/stamp.h): 52 cells across a band at\n"
    "   * the top, white/black markers, 44-bit wall-clock ms + 4-bit check.\n"
    "   * Writes the stamp latency of V's frames into ST; returns the reader,\n"
    "   * for a browser without requestVideoFrameCallback. webrtc.js uses it\n"
    "   * too (window.csWatchStamp). */\n"
    "  function watchStamp(v, st) {\n"
    "    var canvas = document.createElement('canvas');\n"
    "    var ctx = canvas.getContext('2d', { willReadFrequently: true });\n"
    "    function readStamp() {\n"
    "      var w = v.videoWidth, h = v.videoHeight;\n"
    "      if (!w || !h || w < 52) return null;\n"
    "      var band = Math.max(8, Math.floor(h / 16)) & ~1;\n"
    "      canvas.width = w;\n"
    "      canvas.height = band;\n"
    "      ctx.drawImage(v, 0, 0, w, band, 0, 0, w, band);\n"
    "      var px = ctx.getImageData(0, 0, w, band).data;\n"
    "      var vals = [];\n"
    "      for (var c = 0; c < 52; c++) {\n"
    "        var x0 = Math.floor(c * w / 52), x1 = Math.floor((c + 1) * w / 52);\n"
    "        var xa = x0 + Math.floor((x1 - x0) / 4), xb = x1 - Math.floor((x1 - x0) / 4);\n"
    "        var ya = Math.floor(band / 4), yb = band - Math.floor(band / 4);\n"
    "        var sum = 0, n = 0;\n"
    "        for (var y = ya; y < yb; y++) {\n"
    "          for (var x = xa; x < xb; x++) {\n"
    "            var o = (y * w + x) * 4;\n"
    "            sum += 0.299 * px[o] + 0.587 * px[o + 1] + 0.114 * px[o + 2];\n"
    "            n++;\n"
    "          }\n"
    "        }\n"
    "        vals.push(n ? sum / n : 0);\n"
    "      }\n"
    "      var white = (vals[0] + vals[51]) / 2, black = (vals[1] + vals[50]) / 2;\n"
    "      if (white - black < 40) return null;\n"
    "      var mid = (white + black) / 2;\n"
    "      if (vals[0] < mid || vals[51] < mid || vals[1] > mid || vals[50] > mid)\n"
    "        return null;\n"
    "      var t = 0, chk = 0;\n"
    "      for (var i = 0; i < 44; i++) t = t * 2 + (vals[2 + i] > mid ? 1 : 0);\n"
    "      for (i = 44; i < 48; i++) chk = chk * 2 + (vals[2 + i] > mid ? 1 : 0);\n"
    "      var x2 = 0, rest = t;\n"
    "      for (i = 0; i < 11; i++) {\n"
    "        x2 ^= rest % 16;\n"
    "        rest = Math.floor(rest / 16);\n"
    "      }\n"
    "      return x2 === chk ? t : null;\n"
    "    }\n"
    "    function onFrame() {\n"
    "      try {\n"
    "        var t = readStamp();\n"
    "        if (t !== null) {\n"
    "          st.stampMs = t;\n"
    "          st.latencyMs = Date.now() - t;\n"
    "          st.latencySource = 'stamp';\n"
    "        }\n"
    "      } catch (e) { /* a tainted or empty canvas: try the next frame */ }\n"
    "      if (v.requestVideoFrameCallback) v.requestVideoFrameCallback(onFrame);\n"
    "    }\n"
    "    if (v.requestVideoFrameCallback) v.requestVideoFrameCallback(onFrame);\n"
    "    return onFrame;\n"
    "  }\n"
    "  window.csWatchStamp = watchStamp;\n"
    "  window.csPlayer = st;\n"
    "  if (document.body.getAttribute('data-whep')) return; /* webrtc.js */\n"
    "  if (!window.Hls || !Hls.isSupported()) {\n"
    "    info.textContent = 'hls.js is not available: cs-serve --assets DIR';\n"
    "    st.errors.push('no-hls');\n"
    "    return;\n"
    "  }\n"
    "  /* Low latency. The aim (liveAim()) is two parts behind the newest\n"
    "   * one (PART-HOLD-BACK's lower bound), or a part and a quarter second\n"
    "   * if that is more; it comes from the media playlist's PART-TARGET,\n"
    "   * read before hls.js picks where to start, so that it starts there.\n"
    "   * The catch-up is the page's own: hls.js 1.7 speeds up only\n"
    "   * while more than a second is buffered, which holds a viewer about a\n"
    "   * second behind the newest part whatever its aim. Here the rate goes\n"
    "   * up to 1.5x, as far as the buffer beyond a part allows. A stall moves\n"
    "   * the aim 0.1 s back (hls.js), and 30 s without one brings it back to\n"
    "   * where it began. Playlists without parts: hls.js as it is. */\n"
    "  var hls = null, aim = 0, part = 0, lastStall = 0;\n"
    "  function liveAim(pt) {\n"
    "    return Math.max(2 * pt, pt + 0.25);\n"
    "  }\n"
    "  function partTarget(url, done) {\n"
    "    function get(u, then) {\n"
    "      fetch(u).then(function (r) { return r.ok ? r.text() : ''; })\n"
    "        .then(then, function () { done(0); });\n"
    "    }\n"
    "    get(url, function (text) {\n"
    "      var m = /#EXT-X-PART-INF:PART-TARGET=([0-9.]+)/.exec(text);\n"
    "      if (m) return done(Number(m[1]));\n"
    "      var uri = text.split('\\n').map(function (l) { return l.trim(); })\n"
    "        .filter(function (l) { return l && l[0] !== '#'; })[0];\n"
    "      if (!/#EXT-X-STREAM-INF/.test(text) || !uri) return done(0);\n"
    "      get(new URL(uri, new URL(url, location.href)).href, function (t) {\n"
    "        var p = /#EXT-X-PART-INF:PART-TARGET=([0-9.]+)/.exec(t);\n"
    "        done(p ? Number(p[1]) : 0);\n"
    "      });\n"
    "    });\n"
    "  }\n"
    "  function catchUp() {\n"
    "    var d = hls && hls.latestLevelDetails;\n"
    "    if (!aim || !d || !d.live || v.paused || v.readyState < 3) return;\n"
    "    var late = hls.latency - hls.targetLatency, b = bufferAhead();\n"
    "    /* faster, by no more than the buffer beyond a part allows (a seek\n"
    "     * forward into the buffer instead made hls.js 1.7 stall for 10 s) */\n"
    "    var up = Math.min(0.5, late, b - part);\n"
    "    if (late > 0.05 && up > 0.01)\n"
    "      v.playbackRate = 1 + up;\n"
    "    else if (v.playbackRate !== 1)\n"
    "      v.playbackRate = 1;\n"
    "    if (lastStall && performance.now() - lastStall > 30000) {\n"
    "      hls.targetLatency = aim;          /* forgets the stalls */\n"
    "      lastStall = 0;\n"
    "    }\n"
    "  }\n"
    "  function start(pt) {\n"
    "    var conf = { lowLatencyMode: true, backBufferLength: 30,\n"
    "                 maxLiveSyncPlaybackRate: 1.5, liveSyncOnStallIncrease: 0.1 };\n"
    "    if (pt > 0) {\n"
    "      part = pt;\n"
    "      aim = liveAim(pt);\n"
    "      conf.liveSyncDuration = aim;\n"
    "      conf.maxLiveSyncPlaybackRate = 1;   /* catchUp() instead */\n"
    "    }\n"
    "    hls = new Hls(conf);\n"
    "    window.hls = hls;\n"
    "    hls.on(Hls.Events.ERROR, function (e, d) {\n"
    "      if (d.details === Hls.ErrorDetails.BUFFER_STALLED_ERROR)\n"
    "        lastStall = performance.now();\n"
    "      if (d.fatal) {\n"
    "        st.errors.push(d.type + ':' + d.details);\n"
    "        if (d.type === Hls.ErrorTypes.NETWORK_ERROR) hls.startLoad();\n"
    "        else if (d.type === Hls.ErrorTypes.MEDIA_ERROR) hls.recoverMediaError();\n"
    "      }\n"
    "    });\n"
    "    hls.on(Hls.Events.MANIFEST_PARSED, function (e, d) {\n"
    "      st.levels = d.levels.length;\n"
    "      pick.innerHTML = '';\n"
    "      pick.add(new Option('auto', '-1'));\n"
    "      d.levels.forEach(function (l, i) {\n"
    "        var name = (l.height ? l.height + 'p ' : '') +\n"
    "                   Math.round(l.bitrate / 1000) + ' kb/s';\n"
    "        pick.add(new Option(name, String(i)));\n"
    "      });\n"
    "      v.play().catch(function () {});\n"
    "    });\n"
    "    /* measured media bitrate, for playlists that do not declare one */\n"
    "    hls.on(Hls.Events.FRAG_LOADED, function (e, d) {\n"
    "      var bytes = d.frag.stats && d.frag.stats.total;\n"
    "      if (bytes && d.frag.duration > 0)\n"
    "        measured = Math.round(bytes * 8 / d.frag.duration);\n"
    "    });\n"
    "    hls.loadSource(src);\n"
    "    hls.attachMedia(v);\n"
    "  }\n"
    "  var measured = 0;\n"
    "  pick.onchange = function () { if (hls) hls.currentLevel = Number(pick.value); };\n"
    "  partTarget(src, start);\n"
    "  setInterval(catchUp, 200);\n"
    "\n"
    "  var onFrame = watchStamp(v, st);\n"
    "\n"
    "  function bufferAhead() {\n"
    "    var b = v.buffered, t = v.currentTime;\n"
    "    for (var i = 0; i < b.length; i++)\n"
    "      if (b.start(i) <= t + 0.1 && t <= b.end(i)) return b.end(i) - t;\n"
    "    return 0;\n"
    "  }\n"
    "  setInterval(function () {\n"
    "    if (!v.requestVideoFrameCallback) onFrame();\n"
    "    if (!hls) return;\n"
    "    if (st.latencySource !== 'stamp' && hls.playingDate) {\n"
    "      st.latencyMs = Date.now() - hls.playingDate.getTime();\n"
    "      st.latencySource = 'program-date-time';\n"
    "    }\n"
    "    var l = hls.levels && hls.levels[hls.currentLevel];\n"
    "    st.level = hls.currentLevel;\n"
    "    st.bitrate = l && l.bitrate ? l.bitrate : measured;\n"
    "    st.buffer = Math.round(bufferAhead() * 1000) / 1000;\n"
    "    info.textContent =\n"
    "      'latency ' + (st.latencyMs === null ? '-' :\n"
    "        (st.latencyMs / 1000).toFixed(2) + ' s (' + st.latencySource + ')') +\n"
    "      ' | ' + Math.round(st.bitrate / 1000) + ' kb/s' +\n"
    "      ' | buffer ' + st.buffer.toFixed(2) + ' s' +\n"
    "      (hls.latency ? ' | behind live edge ' + hls.latency.toFixed(2) + ' s' : '');\n"
    "  }, 500);\n"
    "})();\n";

static const char style[] =
    "body{font:14px sans-serif;margin:1em;background:#111;color:#eee}"
    "a{color:#8cf}video{width:100%;max-width:960px;background:#000}"
    "#bar{margin:.5em 0}#info{font-family:monospace}";

static void escape(AVBPrint *bp, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '<': av_bprintf(bp, "&lt;"); break;
        case '>': av_bprintf(bp, "&gt;"); break;
        case '&': av_bprintf(bp, "&amp;"); break;
        case '"': av_bprintf(bp, "&quot;"); break;
        case '\'': av_bprintf(bp, "&#39;"); break;
        default: av_bprint_chars(bp, *s, 1);
        }
    }
}

/* URL path escaping for a name used in an href or src. */
static void url_escape(AVBPrint *bp, const char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;

        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
            (c >= '0' && c <= '9') || strchr("-._~/", c))
            av_bprint_chars(bp, (char)c, 1);
        else
            av_bprintf(bp, "%%%02X", c);
    }
}

static enum MHD_Result send_page(struct cs_req *r, AVBPrint *bp)
{
    enum MHD_Result ret;

    r->kind = CS_KIND_PAGE;
    if (!av_bprint_is_complete(bp)) {
        av_bprint_finalize(bp, NULL);
        return MHD_NO;
    }
    ret = cs_http_buffer(r, bp->str, bp->len, "text/html; charset=utf-8",
                         "no-cache", NULL, 0, 0, 0);
    av_bprint_finalize(bp, NULL);
    return ret;
}

static int exists(const char *root, const char *rel)
{
    char path[PATH_MAX * 2];
    struct stat st;
    int n = snprintf(path, sizeof(path), "%s/%s", root, rel);

    if (n < 0 || (size_t)n >= sizeof(path))
        return 0;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* The playlist to play in folder STREAM: master.m3u8, else index.m3u8,
 * else the first <rung>/index.m3u8. 0 when there is none. */
static int stream_source(const char *root, const char *stream, char *out,
                         size_t size)
{
    char dir[PATH_MAX * 2], rel[PATH_MAX * 2];
    struct dirent *d;
    DIR *dp;
    int found = 0;

    snprintf(out, size, "%s/master.m3u8", stream);
    if (exists(root, out))
        return 1;
    snprintf(out, size, "%s/index.m3u8", stream);
    if (exists(root, out))
        return 1;
    snprintf(dir, sizeof(dir), "%s/%s", root, stream);
    dp = opendir(dir);
    if (!dp)
        return 0;
    while (!found && (d = readdir(dp))) {
        if (d->d_name[0] == '.')
            continue;
        snprintf(rel, sizeof(rel), "%s/%s/index.m3u8", stream, d->d_name);
        if (exists(root, rel)) {
            snprintf(out, size, "%s", rel);
            found = 1;
        }
    }
    closedir(dp);
    return found;
}

enum MHD_Result cs_player_index(struct cs_req *r)
{
    char src[PATH_MAX * 2];
    struct dirent *d;
    AVBPrint bp;
    DIR *dp;
    int n = 0;

    av_bprint_init(&bp, 2048, AV_BPRINT_SIZE_UNLIMITED);
    av_bprintf(&bp, "<!doctype html><html><head><meta charset=\"utf-8\">"
               "<title>cs-serve</title><style>%s</style></head><body>"
               "<h1>Streams</h1><ul id=\"streams\">", style);
    dp = opendir(r->h->root);
    while (dp && (d = readdir(dp))) {
        if (d->d_name[0] == '.' || d->d_type != DT_DIR ||
            !stream_source(r->h->root, d->d_name, src, sizeof(src)))
            continue;
        av_bprintf(&bp, "<li><a href=\"/");
        url_escape(&bp, d->d_name);
        av_bprintf(&bp, "/\">");
        escape(&bp, d->d_name);
        av_bprintf(&bp, "</a></li>");
        n++;
    }
    if (dp)
        closedir(dp);
    if (!n)
        av_bprintf(&bp, "<li>no streams yet</li>");
    av_bprintf(&bp, "</ul></body></html>\n");
    return send_page(r, &bp);
}

enum MHD_Result cs_player_stream(struct cs_req *r, const char *stream)
{
    char name[PATH_MAX], src[PATH_MAX * 2] = "";
    /* ?whep=URL: the WebRTC mode (webrtc.js), no playlist needed */
    const char *whep = MHD_lookup_connection_value(r->conn,
                                                   MHD_GET_ARGUMENT_KIND,
                                                   "whep");
    size_t n;
    AVBPrint bp;

    snprintf(name, sizeof(name), "%s", stream);
    n = strlen(name);
    while (n && name[n - 1] == '/')
        name[--n] = 0;
    if (!stream_source(r->h->root, name, src, sizeof(src)) &&
        !(whep && *whep))
        return cs_http_error(r, MHD_HTTP_NOT_FOUND);
    av_bprint_init(&bp, 2048, AV_BPRINT_SIZE_UNLIMITED);
    av_bprintf(&bp, "<!doctype html><html><head><meta charset=\"utf-8\">"
               "<title>");
    escape(&bp, name);
    av_bprintf(&bp, " - cs-serve</title><style>%s</style></head>"
               "<body data-src=\"/", style);
    url_escape(&bp, src);
    if (whep && *whep) {
        av_bprintf(&bp, "\" data-whep=\"");
        escape(&bp, whep);
    }
    av_bprintf(&bp, "\"><h1>");
    escape(&bp, name);
    av_bprintf(&bp, "</h1><video id=\"v\" muted autoplay playsinline "
               "controls></video><div id=\"bar\">rendition "
               "<select id=\"level\"></select> <span id=\"info\">"
               "</span></div><p><a href=\"/\">all streams</a></p>"
               "<script src=\"/_cs/hls/hls.min.js\"></script>"
               "<script src=\"/_cs/player.js\"></script>"
               "<script src=\"/_cs/webrtc.js\"></script>"
               "</body></html>\n");
    return send_page(r, &bp);
}

enum MHD_Result cs_player_script(struct cs_req *r)
{
    r->kind = CS_KIND_PAGE;
    return cs_http_buffer(r, script, sizeof(script) - 1, "text/javascript",
                          "no-cache", NULL, 0, 0, 0);
}
