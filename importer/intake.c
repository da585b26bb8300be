#include "intake.h"

#include "error.h"

#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

static int intake_store_line(const split_line *line, void *ctx) {
    intake *in = ctx;
    in->lines = line->number;
    if (in->max_lines > 0 && line->number > in->max_lines) {
        in->too_many_lines = true;
        return BI_ETOOBIG;
    }
    if (in->observe != NULL && line->error == 0)
        in->observe(line->text, line->len, in->observe_ctx);
    return db_upload_line(in->db, line->number, line->text, line->len,
                          line->error ? error_code(line->error) : NULL);
}

void intake_init(intake *in, db_upload *db, size_t max_line, int64_t max_lines, int64_t max_bytes,
                 bool hash) {
    *in = (intake){.db = db, .max_lines = max_lines, .max_bytes = max_bytes};
    split_init(&in->split, max_line, intake_store_line, in);
    if (hash && ((in->sha = EVP_MD_CTX_new()) == NULL ||
                 EVP_DigestInit_ex(in->sha, EVP_sha256(), NULL) != 1))
        abort();
}

/* Takes the next len bytes of the file itself (decompressed). */
static int intake_take(const char *data, size_t len, void *ctx) {
    intake *in = ctx;
    in->bytes += (int64_t)len;
    if (in->gz != NULL && in->max_bytes > 0 && in->bytes > in->max_bytes) {
        in->too_big = true;
        return BI_ETOOBIG;
    }
    if (in->sha != NULL)
        EVP_DigestUpdate(in->sha, data, len);
    return split_feed(&in->split, data, len);
}

/* Passes len bytes as they came, through the decompressor when the file is gzip. */
static int intake_pass(intake *in, const char *data, size_t len) {
    return in->gz != NULL ? gunzip_feed(in->gz, data, len) : intake_take(data, len, in);
}

/* Decides from the first bytes (all there are, when fewer than two) whether the file is gzip,
 * then passes them on. */
static int intake_decide(intake *in) {
    in->decided = true;
    /* A ZIP archive's local file header: its lines would all be binary garbage. */
    if (in->head_len == 4 && memcmp(in->head, "PK\3\4", 4) == 0) {
        in->refused = "is a ZIP archive, which this server does not read yet: send the file it "
                      "holds (gzipped, if you like)";
        return BI_EINVAL;
    }
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

int intake_finish(intake *in, unsigned char *sha256) {
    int err = in->decided ? 0 : intake_decide(in);
    if (err == 0 && in->gz != NULL)
        err = gunzip_finish(in->gz);
    if (err < 0)
        return err;
    if (in->sha != NULL)
        EVP_DigestFinal_ex(in->sha, sha256, NULL);
    return split_finish(&in->split);
}

const char *intake_error(const intake *in) {
    return in->refused ? in->refused : in->gz != NULL ? gunzip_error(in->gz) : "";
}

void intake_fini(intake *in) {
    split_fini(&in->split);
    EVP_MD_CTX_free(in->sha);
    in->sha = NULL;
    gunzip_free(in->gz);
    in->gz = NULL;
}
