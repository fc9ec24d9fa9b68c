/* decode/device.h: capture devices through libavdevice, named KIND:NAME:
 *
 *   v4l2:/dev/video0[@WxH]       a camera (Video4Linux2)
 *   x11grab:DISPLAY[+X,Y][@WxH]  an X screen (x11grab::0.0+100,200@1280x720)
 *   alsa:hw:0                    a sound card (ALSA)
 *   pulse:SOURCE                 a PulseAudio or PipeWire-Pulse source
 *                                ("default", "NAME.monitor")
 *
 * A video device and an audio device are read together as one capture
 * (cs_capture): their packets as they come, all on one clock (the
 * wall clock that libavdevice stamps x11grab, pulse and alsa with, and v4l2
 * with ts=abs), so that audio and video stay in step.
 */
#ifndef CS_DECODE_DEVICE_H
#define CS_DECODE_DEVICE_H

#include <stdio.h>

#include <libavutil/rational.h>

#include "err.h"
#include "media/input.h"

/* Devices one capture reads at most: one video and one audio. */
#define CS_DEVICE_MAX 2

/* Whether SPEC names a known kind (returns 0, and sets *video to whether it
 * gives pictures) or not (CS_EUSAGE). */
int cs_device_kind(const char *spec, int *video);

/* Open the device SPEC. FPS (0/0: 25) is the rate asked of a video device.
 * On failure, ERR (caller-owned, may be NULL) says in one line what is
 * wrong with the device, with its exit status: missing (no such node,
 * display or source) or busy: CS_EXIT_NET, worth retrying once it is back
 * or free; a size or rate it refuses: CS_EXIT_USAGE. */
int cs_device_open(struct cs_input **out, const char *spec, AVRational fps,
                   struct cs_err *err);

struct cs_capture;

/* Open every device of SPECS (NB of them, 1 or 2): at most one giving
 * video and one giving audio. Errors as cs_device_open. */
int cs_capture_open(struct cs_capture **out, const char *const *specs,
                    int nb, AVRational fps, struct cs_err *err);

/* The capture's video and audio inputs (NULL when it has none); owned by
 * the capture. */
struct cs_input *cs_capture_video(const struct cs_capture *c);
struct cs_input *cs_capture_audio(const struct cs_capture *c);

/* The earliest start time of the devices (AV_TIME_BASE units), or
 * AV_NOPTS_VALUE. */
int64_t cs_capture_start(const struct cs_capture *c);

/* Seconds of sound the audio device has delivered (its own clock): what
 * --duration counts when there is no video device. */
double cs_capture_audio_s(const struct cs_capture *c);

/* The next packet any device delivered, in the order they came (each
 * device is read by a thread of its own, so that none waits while the
 * other is read); *FROM is set to the input it came from. Only the
 * packets go between threads: the inputs' decoders are the caller's. */
int cs_capture_read(struct cs_capture *c, AVPacket *pkt,
                    struct cs_input **from);

/* How late the video and the audio device delivered, in ms: the most any
 * packet read so far arrived after the (wall-clock) time it is stamped
 * with. 0 for a device the capture does not have. */
void cs_capture_delays(const struct cs_capture *c, double *video_ms,
                       double *audio_ms);

void cs_capture_free(struct cs_capture **c);

/* Write to OUT what libavdevice finds, one device a line, as
 * "KIND:NAME<TAB>description" (ready for --device), cameras followed by
 * the pixel formats they offer. Kinds with no server or no device are
 * left out. Returns the number of lines. */
int cs_device_list(FILE *out);

#endif
