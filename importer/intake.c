#include "intake.h"

#include "csv.h"
#include "csvconv.h"
#include "error.h"
#include "export.h"
#include "unzip.h"
#include "utf8.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define INTAKE_BLOCK (64 * 1024) /* bytes read at a time from a spool file or an archive */

static void intake_refuse(intake *in, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void intake_refuse(intake *in, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(in->refused, sizeof in->refused, fmt, ap);
    va_end(ap);
}

/* ---- lines into the task ---- */

/* Stores line number (text of len bytes, or NULL with error) as the task's. */
static int intake_store(intake *in, int64_t number, const char *text, size_t len, int error) {
    in->lines = number;
    if (in->max_lines > 0 && number > in->max_lines) {
        in->too_many_lines = true;
        return BI_ETOOBIG;
    }
    if (in->observe != NULL && error == 0)
        in->observe(text, len, in->observe_ctx);
    return db_upload_line(in->db, number, error ? NULL : text, len, error ? error_code(error) : NULL);
}

static int intake_store_line(const split_line *line, void *ctx) {
    intake *in = ctx;
    return intake_store(in, line->number, line->text, line->len, line->error);
}

/* Stores a line a converter made (or an export's element as it was), checked as the splitter
 * checks an uploaded line. */
static int intake_store_made(intake *in, const char *text, size_t len, int error) {
    if (error == 0 && len > in->max_line)
        error = BI_ELINELONG;
    if (error == 0 && memchr(text, '\0', len) != NULL)
        error = BI_ENUL;
    if (error == 0 && utf8_invalid_at(text, len) != len)
        error = BI_EUTF8;
    return intake_store(in, in->lines + 1, text, len, error);
}

/* ---- setup ---- */

void intake_init(intake *in, db_upload *db, size_t max_line, int64_t max_lines, int64_t max_bytes,
                 bool hash) {
    *in = (intake){.db = db, .max_lines = max_lines, .max_bytes = max_bytes, .max_line = max_line};
    split_init(&in->split, max_line, intake_store_line, in);
    if (hash && ((in->sha = EVP_MD_CTX_new()) == NULL ||
                 EVP_DigestInit_ex(in->sha, EVP_sha256(), NULL) != 1))
        abort();
}

void intake_file_of_task(intake_file *out, const db_task *task, const char *name) {
    memset(out, 0, sizeof *out);
    snprintf(out->format, sizeof out->format, "%s", task->format);
    snprintf(out->name, sizeof out->name, "%s", name ? name : "");
    snprintf(out->owner, sizeof out->owner, "%s", task->export_owner);
    snprintf(out->owner_type, sizeof out->owner_type, "%s", task->export_owner_type);
    snprintf(out->version, sizeof out->version, "%s", task->export_version);
}

bool intake_format_known(const char *format) {
    static const char *const known[] = {"", "jsonl", "csv", "zip", "export"};
    for (size_t i = 0; i < sizeof known / sizeof *known; i++)
        if (strcmp(format, known[i]) == 0)
            return true;
    return false;
}

/* ---- telling the format ---- */

/* Whether the name (a file name or URL: its query and fragment do not count) ends with
 * suffix, case aside, perhaps followed by ".gz". */
static bool intake_name_ends(const char *name, const char *suffix) {
    size_t len = strcspn(name, "?#"), sl = strlen(suffix);
    if (len >= 3 && strncasecmp(name + len - 3, ".gz", 3) == 0)
        len -= 3;
    return len >= sl && strncasecmp(name + len - sl, suffix, sl) == 0;
}

/* Whether the first line of peek (len bytes) is a CSV header naming resource_type. */
static bool intake_csv_header(const char *peek, size_t len) {
    if (len >= 3 && memcmp(peek, "\xEF\xBB\xBF", 3) == 0)
        peek += 3, len -= 3;
    const char *nl = len > 0 ? memchr(peek, '\n', len) : NULL;
    size_t line = nl ? (size_t)(nl - peek) : len, i = 0;
    while (i < line && (peek[i] == ' ' || peek[i] == '\t'))
        i++;
    if (i < line && (peek[i] == '{' || peek[i] == '['))
        return false;
    for (size_t start = 0; start < line;) {
        size_t end = start;
        while (end < line && peek[end] != ',' && peek[end] != '\r')
            end++;
        const char *f = peek + start;
        size_t n = end - start;
        if (n >= 2 && f[0] == '"' && f[n - 1] == '"')
            f++, n -= 2;
        if (n == 13 && memcmp(f, "resource_type", 13) == 0)
            return true;
        start = end + 1;
    }
    return false;
}

/* Decides the format from the options, the name and the peeked bytes (ended: they are all
 * there are). Returns 0 or BI_EINVAL (refused). */
static int intake_decide_format(intake *in) {
    const char *f = in->file.format;
    bool zip_magic = in->peek_len >= 4 && memcmp(in->peek, "PK\3\4", 4) == 0;
    if (strcmp(f, "jsonl") == 0)
        in->format = INTAKE_LINES;
    else if (strcmp(f, "csv") == 0)
        in->format = INTAKE_CSV;
    else if (strcmp(f, "zip") == 0 || zip_magic)
        in->format = INTAKE_ZIP;
    else if (strcmp(f, "export") == 0)
        in->format = INTAKE_EXPORT;
    else if (intake_name_ends(in->file.name, ".zip"))
        in->format = INTAKE_ZIP;
    else if (intake_name_ends(in->file.name, ".csv"))
        in->format = INTAKE_CSV;
    else if (in->peek_len > 0 && export_may_begin(in->peek, in->peek_len))
        in->format = INTAKE_EXPORT; /* read as JSON lines after all when it is not one */
    else if (intake_csv_header(in->peek, in->peek_len))
        in->format = INTAKE_CSV;
    else
        in->format = INTAKE_LINES;
    if (in->format == INTAKE_ZIP && in->depth > 0) {
        intake_refuse(in, "in the ZIP archive is a ZIP archive itself: send the file it holds");
        return BI_EINVAL;
    }
    return 0;
}

/* ---- the bytes, once the format is known ---- */

/* Records that the spool file failed (errno says how); returns BI_EIO. */
static int intake_spool_failed(intake *in) {
    in->spool_failed = true;
    intake_refuse(in, "could not be kept in a temporary file of the server (%s)", strerror(errno));
    return BI_EIO;
}

static int intake_spool_open(intake *in) {
    const char *dir = getenv("TMPDIR");
    char path[512];
    snprintf(path, sizeof path, "%s/bulkimport-spool-XXXXXX", dir && dir[0] ? dir : "/tmp");
    int fd = mkstemp(path);
    if (fd < 0)
        return intake_spool_failed(in);
    unlink(path); /* gone with the last descriptor, whatever happens */
    if ((in->spool = fdopen(fd, "w+b")) == NULL) {
        int saved = errno;
        close(fd);
        errno = saved;
        return intake_spool_failed(in);
    }
    return 0;
}

static int intake_sink(intake *in, const char *data, size_t len) {
    if (in->format == INTAKE_LINES)
        return split_feed(&in->split, data, len);
    int err = in->spool == NULL ? intake_spool_open(in) : 0;
    if (err == 0 && len > 0 && fwrite(data, 1, len, in->spool) != len)
        err = intake_spool_failed(in);
    return err;
}

/* Decides the format and passes on what was peeked. */
static int intake_release_peek(intake *in) {
    int err = intake_decide_format(in);
    if (err == 0 && in->peek_len > 0)
        err = intake_sink(in, in->peek, in->peek_len);
    free(in->peek);
    in->peek = NULL;
    in->peek_len = 0;
    return err;
}

/* Takes the next len bytes of the file itself (decompressed). */
static int intake_take(const char *data, size_t len, void *ctx) {
    intake *in = ctx;
    in->bytes += (int64_t)len;
    if ((in->gz != NULL || in->limit_all) && in->max_bytes > 0 && in->bytes > in->max_bytes) {
        in->too_big = true;
        return BI_ETOOBIG;
    }
    if (in->sha != NULL)
        EVP_DigestUpdate(in->sha, data, len);
    if (in->format != INTAKE_UNDECIDED)
        return intake_sink(in, data, len);
    if (in->peek == NULL && (in->peek = malloc(INTAKE_HEAD_MAX)) == NULL)
        abort();
    size_t n = INTAKE_HEAD_MAX - in->peek_len < len ? INTAKE_HEAD_MAX - in->peek_len : len;
    memcpy(in->peek + in->peek_len, data, n);
    in->peek_len += n;
    if (in->peek_len < INTAKE_HEAD_MAX && memchr(in->peek, '\n', in->peek_len) == NULL)
        return 0; /* not yet enough to tell */
    int err = intake_release_peek(in);
    return err < 0 || n == len ? err : intake_sink(in, data + n, len - n);
}

/* Passes len bytes as they came, through the decompressor when the file is gzip. */
static int intake_pass(intake *in, const char *data, size_t len) {
    return in->gz != NULL ? gunzip_feed(in->gz, data, len) : intake_take(data, len, in);
}

/* Decides from the first bytes (all there are, when fewer than two) whether the file is gzip,
 * then passes them on. */
static int intake_decide(intake *in) {
    in->decided = true;
    if (in->head_len >= 2 && gunzip_is_magic(in->head, 2))
        in->gz = gunzip_create(intake_take, in);
    return in->head_len > 0 ? intake_pass(in, (const char *)in->head, in->head_len) : 0;
}

int intake_feed(const char *data, size_t len, void *ctx) {
    intake *in = ctx;
    if (!in->decided) {
        while (in->head_len < sizeof in->head && len > 0) {
            in->head[in->head_len++] = (unsigned char)*data++;
            len--;
        }
        if (in->head_len < sizeof in->head)
            return 0;
        int err = intake_decide(in);
        if (err < 0)
            return err;
    }
    return len > 0 ? intake_pass(in, data, len) : 0;
}

/* ---- formats read once the file is all there ---- */

/* Feeds the spool file from its start to feed(ctx), a block at a time. */
static int intake_replay(intake *in, int (*feed)(void *ctx, const char *data, size_t len),
                         void *ctx) {
    if (fflush(in->spool) != 0 || fseeko(in->spool, 0, SEEK_SET) != 0)
        return intake_spool_failed(in);
    char *block = malloc(INTAKE_BLOCK);
    if (block == NULL)
        abort();
    int err = 0;
    size_t n;
    while (err == 0 && (n = fread(block, 1, INTAKE_BLOCK, in->spool)) > 0)
        err = feed(ctx, block, n);
    if (err == 0 && ferror(in->spool))
        err = intake_spool_failed(in);
    free(block);
    return err;
}

static int intake_feed_split(void *ctx, const char *data, size_t len) {
    intake *in = ctx;
    return split_feed(&in->split, data, len);
}

typedef struct intake_csv {
    intake *in;
    csvconv *conv;
    csv_reader *reader;
    size_t pass;
    bool header_seen;
} intake_csv;

static int intake_csv_line(const char *line, size_t len, void *ctx) {
    return intake_store_made(ctx, line, len, 0);
}

static int intake_csv_record(const csv_record *rec, void *ctx) {
    intake_csv *c = ctx;
    if (!c->header_seen) {
        c->header_seen = true;
        char why[200];
        if (c->pass == 0 && csvconv_header(c->conv, rec, why, sizeof why) < 0) {
            intake_refuse(c->in, "is a CSV file that %s", why);
            return BI_EINVAL;
        }
        return 0;
    }
    if (c->pass == 0)
        csvconv_note(c->conv, rec);
    return csvconv_row(c->conv, c->pass, rec, intake_csv_line, c->in);
}

static int intake_csv_feed(void *ctx, const char *data, size_t len) {
    intake_csv *c = ctx;
    return csv_feed(c->reader, data, len);
}

/* The spooled CSV, read once per definition that any row triggers. */
static int intake_convert_csv(intake *in) {
    intake_csv c = {.in = in, .conv = csvconv_create()};
    int err = 0;
    for (c.pass = 0; err == 0 && c.pass < csvconv_passes(c.conv); c.pass++) {
        if (!csvconv_pass_needed(c.conv, c.pass))
            continue;
        c.header_seen = false;
        c.reader = csv_create(in->max_line, intake_csv_record, &c);
        err = intake_replay(in, intake_csv_feed, &c);
        if (err == 0)
            err = csv_finish(c.reader);
        csv_destroy(c.reader);
    }
    csvconv_destroy(c.conv);
    return err;
}

static int intake_export_line(const char *text, size_t len, int error, void *ctx) {
    return intake_store_made(ctx, text, len, error);
}

/* The spooled document as an export; as JSON lines when it is not one (unless the format
 * option said export). */
static int intake_convert_export(intake *in) {
    if (fflush(in->spool) != 0)
        return intake_spool_failed(in);
    export_options opt = {.owner = in->file.owner, .owner_type = in->file.owner_type,
                          .version = in->file.version, .max_line = in->max_line};
    char why[300];
    int rc = export_convert(in->spool, &opt, intake_export_line, in, why, sizeof why);
    if (rc == BI_EINVAL)
        intake_refuse(in, "%s", why);
    if (rc == BI_EIO)
        return intake_spool_failed(in);
    if (rc != 0)
        return rc < 0 ? rc : 0;
    if (strcmp(in->file.format, "export") == 0) {
        intake_refuse(in, "is not an OCL source-version export (one JSON object of type "
                          "Source Version with concepts and mappings)");
        return BI_EINVAL;
    }
    int err = intake_replay(in, intake_feed_split, in);
    return err < 0 ? err : split_finish(&in->split);
}

/* The file inside a ZIP archive: a file of its own, into the same task. */
static int intake_inner_begin(const char *name, void *ctx) {
    intake *inner = ctx;
    snprintf(inner->file.name, sizeof inner->file.name, "%s", name);
    return 0;
}

/* The one file of the spooled ZIP archive, read as a file of its own (its name telling its
 * format), into the same task. */
static int intake_unzip(intake *in) {
    if (fflush(in->spool) != 0)
        return intake_spool_failed(in);
    intake inner;
    intake_init(&inner, in->db, in->max_line, in->max_lines, in->max_bytes, false);
    inner.depth = in->depth + 1;
    inner.limit_all = true; /* a ZIP's file is compressed, whatever its own bytes say */
    inner.observe = in->observe;
    inner.observe_ctx = in->observe_ctx;
    if (strcmp(in->file.format, "zip") != 0) /* format=csv of a ZIP: the format of its file */
        memcpy(inner.file.format, in->file.format, sizeof in->file.format);
    memcpy(inner.file.owner, in->file.owner, sizeof in->file.owner);
    memcpy(inner.file.owner_type, in->file.owner_type, sizeof in->file.owner_type);
    memcpy(inner.file.version, in->file.version, sizeof in->file.version);
    unzip_sink sink = {.begin = intake_inner_begin, .bytes = intake_feed, .ctx = &inner};
    char why[UNZIP_WHY_MAX];
    int err = unzip_one(fileno(in->spool), &sink, why);
    if (err == 0)
        err = intake_finish(&inner, NULL);
    const char *inner_why = intake_error(&inner);
    if (err == BI_EINVAL && why[0])
        intake_refuse(in, "%s", why); /* the archive's own fault */
    else if (err == BI_EINVAL && strncmp(inner_why, "in the ZIP", 10) == 0)
        intake_refuse(in, "%s", inner_why); /* a ZIP inside */
    else if (err == BI_EINVAL)
        intake_refuse(in, "in the ZIP archive %s", inner_why[0] ? inner_why : "cannot be read");
    in->lines = inner.lines;
    in->too_many_lines = inner.too_many_lines;
    in->too_big = inner.too_big;
    if (inner.spool_failed) {
        in->spool_failed = true;
        intake_refuse(in, "%s", inner.refused);
    }
    intake_fini(&inner);
    return err;
}

int intake_finish(intake *in, unsigned char *sha256) {
    int err = in->decided ? 0 : intake_decide(in);
    if (err == 0 && in->gz != NULL)
        err = gunzip_finish(in->gz);
    if (err == 0 && in->format == INTAKE_UNDECIDED)
        err = intake_release_peek(in);
    if (err < 0)
        return err;
    if (in->sha != NULL)
        EVP_DigestFinal_ex(in->sha, sha256, NULL);
    if (in->format != INTAKE_LINES && in->spool == NULL)
        return 0; /* an empty file */
    switch (in->format) {
    case INTAKE_CSV:
        return intake_convert_csv(in);
    case INTAKE_EXPORT:
        return intake_convert_export(in);
    case INTAKE_ZIP:
        return intake_unzip(in);
    default:
        return split_finish(&in->split);
    }
}

const char *intake_error(const intake *in) {
    return in->refused[0] ? in->refused : in->gz != NULL ? gunzip_error(in->gz) : "";
}

void intake_fini(intake *in) {
    split_fini(&in->split);
    EVP_MD_CTX_free(in->sha);
    in->sha = NULL;
    gunzip_free(in->gz);
    in->gz = NULL;
    free(in->peek);
    in->peek = NULL;
    if (in->spool != NULL)
        fclose(in->spool);
    in->spool = NULL;
}
