#!/usr/bin/env python3
"""Clips for the channel's joins, and the check of the joined stream.

joins.py make DIR N [--seed S]
    Write N short clips to DIR/videos (0.2 to 2 s, rates 10 to 60 fps with
    30000/1001 and 179/6, mixed sizes, AAC or Opus audio or none) and
    DIR/clips.json describing each. Every clip is a dark grey picture whose
    first 100 ms are white, and its audio (if any) a 1 kHz beep over the first
    100 ms then silence: the marks the check finds again in the output.

joins.py check OUT CLIPS ORDER --fps RATE [--expect N]
    OUT is the stream cs-encode wrote, ORDER the play list (one path a
    line, as cs-fetch play printed it). Checks every join: video steps of
    exactly one frame, each clip's white frame where the sum of the clips
    before it puts it (within two frames), its beep within one frame of its
    white frame, no beep where a clip has no audio, the total duration the
    sum within two frames and the audio's end within one frame of the
    video's. Prints the measures as one JSON line; exit 1 on a failure,
    with one line per failed check on stderr.
"""
import argparse
import concurrent.futures
import json
import os
import random
import subprocess
import sys
from fractions import Fraction

RATES = ["10", "12", "15", "24", "25", "30000/1001", "30", "179/6", "48",
         "50", "60000/1001", "60"]
SIZES = ["160x120", "320x180", "176x144", "96x160", "426x240", "200x200",
         "258x146"]
AUDIO = ["aac", "aac", "opus", "none"]
BEEP_S = 0.1


def make_one(path, rate, frames, size, audio, srate):
    dur = float(Fraction(frames) / Fraction(rate))
    # the picture's source ends itself after FRAMES frames (half a frame
    # short of the clip's length, so that rounding never adds one): with
    # -frames:v, ffmpeg closed the whole file at the last picture and cut
    # the sound short (a 0.33 s clip had 40 ms of it)
    v = ("color=c=0x404040:s=%s:r=%s:d=%.6f,drawbox=c=white:t=fill:"
         "enable='lt(t\\,0.1)'" %
         (size, rate, float((frames - Fraction(1, 2)) / Fraction(rate))))
    cmd = ["ffmpeg", "-nostdin", "-loglevel", "error", "-y",
           "-f", "lavfi", "-i", v]
    if audio != "none":
        a = ("aevalsrc='if(lt(t\\,%s)\\,0.5*sin(2*PI*1000*t)\\,0)':"
             "s=%d:d=%.6f" % (BEEP_S, srate, dur))
        cmd += ["-f", "lavfi", "-i", a]
    cmd += ["-c:v", "libx264", "-preset",
            "ultrafast", "-pix_fmt", "yuv420p", "-g", "30"]
    if audio == "aac":
        cmd += ["-c:a", "aac", "-b:a", "64k"]
    elif audio == "opus":
        cmd += ["-c:a", "libopus", "-b:a", "48k"]
    cmd.append(path)
    subprocess.run(cmd, check=True)


def make(args):
    rng = random.Random(args.seed)
    os.makedirs(os.path.join(args.dir, "videos"), exist_ok=True)
    clips = {}
    jobs = []
    for i in range(args.n):
        rate = RATES[i % len(RATES)] if i < len(RATES) else rng.choice(RATES)
        audio = AUDIO[i % len(AUDIO)] if i < len(AUDIO) else rng.choice(AUDIO)
        size = rng.choice(SIZES)
        frames = max(2, round(rng.uniform(0.2, 2.0) * Fraction(rate)))
        srate = 48000 if audio == "opus" else rng.choice([44100, 48000])
        name = "clip%04d.%s" % (i, "mkv" if audio == "opus" else "mp4")
        jobs.append((os.path.join(args.dir, "videos", name), rate, frames,
                     size, audio, srate))
        clips[name] = {"rate": rate, "frames": frames, "size": size,
                       "audio": audio, "sample_rate": srate}
    with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
        for f in [pool.submit(make_one, *j) for j in jobs]:
            f.result()
    with open(os.path.join(args.dir, "clips.json"), "w") as f:
        json.dump(clips, f, indent=1)


def lavfi_frames(src, chain, tag):
    """(pts seconds, value of TAG) of each frame of a lavfi graph."""
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-f", "lavfi", "-i",
         "%s,%s" % (src, chain), "-show_entries",
         "frame=pts_time:frame_tags=" + tag, "-of", "csv=p=0"],
        check=True, capture_output=True, text=True).stdout
    rows = []
    for line in out.split("\n"):
        parts = line.strip().split(",")
        if len(parts) < 2 or parts[0] in ("", "N/A"):
            continue
        val = parts[1]
        rows.append((float(parts[0]),
                     -200.0 if val in ("-inf", "") else float(val)))
    return rows


def check(args):
    clips = json.load(open(args.clips))
    order = [os.path.basename(p.strip()) for p in open(args.order)
             if p.strip()]
    fps = Fraction(args.fps)
    frame = float(1 / fps)
    src = args.out.replace("\\", "\\\\").replace(":", "\\:")
    video = lavfi_frames("movie=" + src, "crop=8:8,signalstats",
                         "lavfi.signalstats.YAVG")
    audio = lavfi_frames("amovie=" + src,
                         "aformat=channel_layouts=mono,"
                         "asetnsamples=n=120,astats=metadata=1:reset=1",
                         "lavfi.astats.Overall.Peak_level")
    fails = []
    t0 = video[0][0]
    steps = {round((b[0] - a[0]) / frame, 3)
             for a, b in zip(video, video[1:])}
    if steps != {1.0}:
        fails.append("video steps of %s frames" % sorted(steps))
    flashes = [t for i, (t, y) in enumerate(video)
               if y > 150 and (i == 0 or video[i - 1][1] <= 150)]
    if len(flashes) != len(order):
        fails.append("%d clips played, %d white frames found" %
                     (len(order), len(flashes)))
    beeps = [t for i, (t, p) in enumerate(audio)
             if p > -20 and (i == 0 or audio[i - 1][1] <= -20)]
    ideal = Fraction(0)
    worst_v = worst_a = 0.0
    worst_at = None
    bi = 0
    for k, (name, tv) in enumerate(zip(order, flashes)):
        c = clips[name]
        dv = (tv - t0) - float(ideal)
        if abs(dv) > abs(worst_v):
            worst_v = dv
        if abs(dv) > 2 * frame * 1.001:
            fails.append("join %d (%s): picture %.1f ms from the sum of the "
                         "clips before" % (k, name, dv * 1000))
        while bi < len(beeps) and beeps[bi] < tv - 3 * frame:
            fails.append("a beep at %.3f s belongs to no clip" % (beeps[bi] - t0))
            bi += 1
        near = bi < len(beeps) and beeps[bi] <= tv + 3 * frame
        if c["audio"] == "none" and near:
            fails.append("join %d (%s): a beep in a clip without audio" %
                         (k, name))
            bi += 1
        elif c["audio"] != "none":
            if not near:
                fails.append("join %d (%s): no beep" % (k, name))
            else:
                da = beeps[bi] - tv
                bi += 1
                if abs(da) > abs(worst_a):
                    worst_a, worst_at = da, k
                if abs(da) > frame * 1.001:
                    fails.append("join %d (%s, %s): audio %.1f ms from the "
                                 "picture" % (k, name, c["audio"], da * 1000))
        ideal += Fraction(c["frames"]) / Fraction(c["rate"])
    for extra in beeps[bi:]:
        fails.append("a beep at %.3f s belongs to no clip" % (extra - t0))
    v_end = video[-1][0] + frame - t0
    a_end = audio[-1][0] + 120 / 48000 - t0
    total = float(ideal)
    if abs(v_end - total) > 2 * frame * 1.001:
        fails.append("total %.3f s, the clips sum to %.3f s" % (v_end, total))
    if abs(a_end - v_end) > frame * 1.001:
        fails.append("audio ends %.1f ms from the video" %
                     ((a_end - v_end) * 1000))
    if args.expect and len(order) != args.expect:
        fails.append("%d clips played, %d expected" % (len(order),
                                                        args.expect))
    print(json.dumps({
        "clips": len(order), "frames": len(video), "frame_ms": frame * 1000,
        "total_s": round(v_end, 4), "sum_s": round(total, 4),
        "end_drift_ms": round((v_end - total) * 1000, 2),
        "audio_end_ms": round((a_end - v_end) * 1000, 2),
        "worst_picture_ms": round(worst_v * 1000, 2),
        "worst_audio_ms": round(worst_a * 1000, 2),
        "worst_audio_join": worst_at,
        "failures": len(fails)}))
    for f in fails[:20]:
        print("joins: " + f, file=sys.stderr)
    return 1 if fails else 0


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    m = sub.add_parser("make")
    m.add_argument("dir")
    m.add_argument("n", type=int)
    m.add_argument("--seed", type=int, default=1)
    m.add_argument("--jobs", type=int, default=2)
    c = sub.add_parser("check")
    c.add_argument("out")
    c.add_argument("clips")
    c.add_argument("order")
    c.add_argument("--fps", required=True)
    c.add_argument("--expect", type=int, default=0)
    a = ap.parse_args()
    if a.cmd == "make":
        make(a)
        return 0
    return check(a)


if __name__ == "__main__":
    sys.exit(main())
