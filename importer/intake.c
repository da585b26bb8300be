#include "intake.h"

#include "error.h"

#include <openssl/evp.h>
#include <stdlib.h>

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

void intake_init(intake *in, db_upload *db, size_t max_line, int64_t max_lines, bool hash) {
    *in = (intake){.db = db, .max_lines = max_lines};
    split_init(&in->split, max_line, intake_store_line, in);
    if (hash && ((in->sha = EVP_MD_CTX_new()) == NULL ||
                 EVP_DigestInit_ex(in->sha, EVP_sha256(), NULL) != 1))
        abort();
}

int intake_feed(const char *data, size_t len, void *ctx) {
    intake *in = ctx;
    if (in->sha != NULL)
        EVP_DigestUpdate(in->sha, data, len);
    return split_feed(&in->split, data, len);
}

int intake_finish(intake *in, unsigned char *sha256) {
    if (in->sha != NULL)
        EVP_DigestFinal_ex(in->sha, sha256, NULL);
    return split_finish(&in->split);
}

void intake_fini(intake *in) {
    split_fini(&in->split);
    EVP_MD_CTX_free(in->sha);
    in->sha = NULL;
}
