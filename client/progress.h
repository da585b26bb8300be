/* progress.h — what the bulkimport client draws on standard error while it uploads and waits.
 *
 * On a terminal: one frame, redrawn in place ("\r" and erase-to-end-of-line), never wider than
 * the terminal (it never wraps), the last frame drawn when the task ends. Off a terminal: a
 * plain line every few seconds. The ETA comes from the rate the client itself observes,
 * smoothed, and is shown only once two intervals were measured (one sample says nothing).
 * The formatting functions are pure, for the unit tests.
 */
#ifndef BI_CLIENT_PROGRESS_H
#define BI_CLIENT_PROGRESS_H

#include <stdbool.h>
#include <stddef.h>

#define PROGRESS_PLAIN_EVERY_S 5.0 /* off a terminal, a line this often at most */

/* A task's progress as the server reports it (its task JSON). */
typedef struct progress_task {
    char state[16], queue[128];
    long total, processed, created, updated, deleted, failed;
    long ahead; /* PENDING: tasks before it in its queue; -1 unknown */
} progress_task;

typedef struct progress {
    bool tty, quiet;
    int width;          /* the terminal's columns */
    bool on_screen;     /* a frame is drawn: a newline is due before other output */
    double last_t;      /* when the last sample was taken (s), 0: none */
    long last_done;     /* ... and its processed lines */
    double rate;        /* smoothed lines per second */
    int intervals;      /* measured intervals behind rate */
    double last_plain;  /* when the last plain line was printed */
    bool upload_done;   /* the upload's 100 % frame is drawn */
} progress;

/* Sets p up for standard error: a terminal (and its width, else $COLUMNS, else 80) or not. */
void progress_init(progress *p, bool quiet);

/* Writes seconds as "45s", "1m23s", "2h05m" or "3d04h" into out (cap bytes). */
void progress_duration(double seconds, char *out, size_t cap);

/* Writes n with thousands separators ("1,234,567") into out (cap bytes). */
void progress_count(long n, char *out, size_t cap);

/* Writes a size in bytes as "512 B", "12.3 kB", "45.6 MB" or "1.23 GB" into out. */
void progress_bytes(double bytes, char *out, size_t cap);

/* Takes a sample of processed lines at time now (s) into the smoothed rate. Returns the ETA
 * in seconds, or -1 while unknown. */
double progress_sample(progress *p, const progress_task *t, double now);

/* Writes one frame for t (eta as progress_sample returned) into out, at most width - 1
 * columns (a frame in the last column makes some terminals wrap). Returns its length. */
size_t progress_task_frame(const progress_task *t, double eta, int width, char *out, size_t cap);

/* Writes one frame of an upload: sent of total bytes (total 0: unknown) at rate bytes/s. */
size_t progress_upload_frame(long long sent, long long total, double rate, int width, char *out,
                             size_t cap);

/* Shows t (sampled at now): a frame on a terminal, a plain line every PROGRESS_PLAIN_EVERY_S
 * off one; final forces the plain line and leaves the frame with its newline. */
void progress_show_task(progress *p, const progress_task *t, double now, bool final);

/* Shows an upload's progress (started: when it began), on a terminal only more often than
 * every 0.2 s, off one every PROGRESS_PLAIN_EVERY_S. */
void progress_show_upload(progress *p, long long sent, long long total, double started, double now);

/* Ends the frame on screen, if any, with a newline. */
void progress_end(progress *p);

#endif
