#include "progress.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define PROGRESS_BAR_MAX 30 /* columns of the bar at most */
#define PROGRESS_BAR_MIN 8  /* narrower than this, no bar */
#define PROGRESS_PARTS 8
#define PROGRESS_SMOOTHING 0.3 /* the weight of the newest interval in the rate */

void progress_init(progress *p, bool quiet) {
    memset(p, 0, sizeof *p);
    p->quiet = quiet;
    p->tty = isatty(STDERR_FILENO);
    p->width = 80;
    struct winsize ws;
    const char *columns = getenv("COLUMNS");
    if (p->tty && ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
        p->width = ws.ws_col;
    else if (columns != NULL && atoi(columns) > 0)
        p->width = atoi(columns);
    if (p->width < 20)
        p->width = 20;
    if (p->width > 1000)
        p->width = 1000;
}

void progress_duration(double seconds, char *out, size_t cap) {
    long s = seconds < 0 ? 0 : (long)(seconds + 0.5);
    if (s < 60)
        snprintf(out, cap, "%lds", s);
    else if (s < 3600)
        snprintf(out, cap, "%ldm%02lds", s / 60, s % 60);
    else if (s < 86400)
        snprintf(out, cap, "%ldh%02ldm", s / 3600, s % 3600 / 60);
    else
        snprintf(out, cap, "%ldd%02ldh", s / 86400, s % 86400 / 3600);
}

void progress_count(long n, char *out, size_t cap) {
    char digits[32];
    int len = snprintf(digits, sizeof digits, "%ld", n < 0 ? -n : n);
    size_t at = 0;
    if (n < 0 && at + 1 < cap)
        out[at++] = '-';
    for (int i = 0; i < len && at + 1 < cap; i++) {
        if (i > 0 && (len - i) % 3 == 0 && at + 2 < cap)
            out[at++] = ',';
        out[at++] = digits[i];
    }
    out[at] = '\0';
}

double progress_sample(progress *p, const progress_task *t, double now) {
    if (strcmp(t->state, "STARTED") != 0) {
        p->last_t = 0; /* a rate measured before a pause would mislead */
        return -1;
    }
    if (p->last_t > 0 && now - p->last_t >= 0.5 && t->processed >= p->last_done) {
        double rate = (double)(t->processed - p->last_done) / (now - p->last_t);
        p->rate = p->intervals == 0 ? rate : PROGRESS_SMOOTHING * rate + (1 - PROGRESS_SMOOTHING) * p->rate;
        p->intervals++;
    }
    if (p->last_t == 0 || now - p->last_t >= 0.5) {
        p->last_t = now;
        p->last_done = t->processed;
    }
    if (p->intervals < 2 || p->rate <= 0 || t->total < t->processed)
        return -1;
    return (double)(t->total - t->processed) / p->rate;
}

/* Draws a bar of width columns, filled by done of total, into out. */
static void progress_bar(long long done, long long total, int width, char *out) {
    int filled = total > 0 ? (int)((double)width * (double)done / (double)total) : 0;
    filled = filled > width ? width : filled;
    out[0] = '[';
    for (int i = 0; i < width; i++)
        out[1 + i] = i < filled ? '#' : '.';
    out[width + 1] = ']';
    out[width + 2] = '\0';
}

/* Joins head, a bar of done/total (when total > 0 and it fits) and as many of parts (most
 * important first) as fit in width - 1 columns, separated by two spaces. */
static size_t progress_fit(const char *head, long long done, long long total, char parts[][64],
                           int n_parts, int width, char *out, size_t cap) {
    bool with_bar = total > 0;
    int room = width - 1;
    for (int keep = n_parts; keep >= 0; keep--) {
        int tail = 0;
        for (int i = 0; i < keep; i++)
            tail += 2 + (int)strlen(parts[i]);
        int bar = with_bar ? room - (int)strlen(head) - 1 - 2 - tail : 0;
        bar = bar > PROGRESS_BAR_MAX ? PROGRESS_BAR_MAX : bar;
        if (with_bar ? bar < PROGRESS_BAR_MIN && keep > 0
                     : (int)strlen(head) + tail > room && keep > 0)
            continue; /* drop the least important part and try again */
        char bar_text[PROGRESS_BAR_MAX + 3] = "";
        if (bar >= PROGRESS_BAR_MIN)
            progress_bar(done, total, bar, bar_text);
        size_t at = (size_t)snprintf(out, cap, "%s%s%s", head, bar_text[0] ? " " : "", bar_text);
        for (int i = 0; i < keep && at < cap; i++)
            at += (size_t)snprintf(out + at, cap - at, "  %s", parts[i]);
        break;
    }
    size_t len = strlen(out);
    if (len > (size_t)room) { /* a head alone too wide: cut (every byte here is one column) */
        len = (size_t)room;
        out[len] = '\0';
    }
    return len;
}

size_t progress_task_frame(const progress_task *t, double eta, int width, char *out, size_t cap) {
    char parts[PROGRESS_PARTS][64], done[32], total[32], n[32];
    int k = 0;
    progress_count(t->processed, done, sizeof done);
    progress_count(t->total, total, sizeof total);
    bool pending = strcmp(t->state, "PENDING") == 0, started = strcmp(t->state, "STARTED") == 0;
    if (pending) {
        if (t->ahead > 0) {
            progress_count(t->ahead, n, sizeof n);
            snprintf(parts[k++], 64, "%s task%s ahead in its queue", n, t->ahead == 1 ? "" : "s");
        } else if (t->ahead == 0) {
            snprintf(parts[k++], 64, "next in its queue");
        }
        snprintf(parts[k++], 64, "%s lines", total);
        return progress_fit(t->state, 0, 0, parts, k, width, out, cap);
    }
    int pct = t->total > 0 ? (int)(100.0 * (double)t->processed / (double)t->total) : 0;
    snprintf(parts[k++], 64, "%3d%%", pct > 100 ? 100 : pct);
    snprintf(parts[k++], 64, "%s/%s", done, total);
    if (started) {
        char eta_text[24] = "--";
        if (eta >= 0)
            progress_duration(eta, eta_text, sizeof eta_text);
        snprintf(parts[k++], 64, "ETA %s", eta_text);
    }
    progress_count(t->failed, n, sizeof n);
    snprintf(parts[k++], 64, "failed %s", n);
    const struct {
        const char *name;
        long value;
    } counters[] = {{"created", t->created}, {"updated", t->updated}, {"deleted", t->deleted}};
    for (int i = 0; i < 3 && k < PROGRESS_PARTS; i++) {
        progress_count(counters[i].value, n, sizeof n);
        snprintf(parts[k++], 64, "%s %s", counters[i].name, n);
    }
    return progress_fit(t->state, t->processed, t->total, parts, k, width, out, cap);
}

void progress_bytes(double bytes, char *out, size_t cap) {
    if (bytes < 1e3)
        snprintf(out, cap, "%.0f B", bytes);
    else if (bytes < 1e6)
        snprintf(out, cap, "%.1f kB", bytes / 1e3);
    else if (bytes < 1e9)
        snprintf(out, cap, "%.1f MB", bytes / 1e6);
    else
        snprintf(out, cap, "%.2f GB", bytes / 1e9);
}

size_t progress_upload_frame(long long sent, long long total, double rate, int width, char *out,
                             size_t cap) {
    char parts[3][64], done[24], all[24], speed[24];
    int k = 0;
    progress_bytes((double)sent, done, sizeof done);
    progress_bytes((double)total, all, sizeof all);
    progress_bytes(rate, speed, sizeof speed);
    if (total > 0) {
        int pct = (int)(100.0 * (double)sent / (double)total);
        snprintf(parts[k++], 64, "%3d%%", pct > 100 ? 100 : pct);
        snprintf(parts[k++], 64, "%s of %s", done, all);
    } else {
        snprintf(parts[k++], 64, "%s", done);
    }
    snprintf(parts[k++], 64, "%s/s", speed);
    return progress_fit("upload", sent, total, parts, k, width, out, cap);
}

/* Draws frame over the last one on a terminal. */
static void progress_draw(progress *p, const char *frame) {
    fprintf(stderr, "\r%s\033[K", frame);
    fflush(stderr);
    p->on_screen = true;
}

void progress_show_task(progress *p, const progress_task *t, double now, bool final) {
    double eta = progress_sample(p, t, now);
    if (p->quiet)
        return;
    char frame[1100];
    if (p->tty) {
        progress_task_frame(t, eta, p->width, frame, sizeof frame);
        progress_draw(p, frame);
        if (final)
            progress_end(p);
        return;
    }
    if (!final && p->last_plain > 0 && now - p->last_plain < PROGRESS_PLAIN_EVERY_S)
        return;
    p->last_plain = now;
    char eta_text[24] = "--";
    if (eta >= 0)
        progress_duration(eta, eta_text, sizeof eta_text);
    if (strcmp(t->state, "PENDING") == 0)
        fprintf(stderr, "progress: PENDING %ld/%ld lines, %ld task(s) ahead in its queue\n",
                t->processed, t->total, t->ahead < 0 ? 0 : t->ahead);
    else
        fprintf(stderr, "progress: %s %ld/%ld lines, ETA %s, created %ld, updated %ld, deleted %ld, "
                        "failed %ld\n",
                t->state, t->processed, t->total, eta_text, t->created, t->updated, t->deleted,
                t->failed);
}

void progress_show_upload(progress *p, long long sent, long long total, double started, double now) {
    bool done = total > 0 && sent >= total;
    if (p->quiet || sent == 0 || p->upload_done)
        return;
    p->upload_done = done; /* libcurl goes on calling while the answer is awaited */
    if (!done && p->last_plain > 0 && now - p->last_plain < (p->tty ? 0.2 : PROGRESS_PLAIN_EVERY_S))
        return;
    p->last_plain = now;
    double rate = now > started ? (double)sent / (now - started) : 0;
    char frame[1100];
    progress_upload_frame(sent, total, rate, p->width, frame, sizeof frame);
    if (p->tty)
        progress_draw(p, frame);
    else
        fprintf(stderr, "%s\n", frame);
}

void progress_end(progress *p) {
    if (p->on_screen)
        fputc('\n', stderr);
    p->on_screen = false;
    p->last_plain = 0;
}
