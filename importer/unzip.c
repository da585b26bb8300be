#include "unzip.h"

#include "error.h"

#include <archive.h>
#include <archive_entry.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define UNZIP_BLOCK (64 * 1024)

/* Opens the archive on fd from its start; NULL with why set when it cannot be. */
static struct archive *unzip_open(int fd, char *why) {
    struct archive *a = archive_read_new();
    if (a == NULL)
        abort();
    archive_read_support_format_zip(a);
    if (lseek(fd, 0, SEEK_SET) != 0 || archive_read_open_fd(a, fd, UNZIP_BLOCK) != ARCHIVE_OK) {
        snprintf(why, UNZIP_WHY_MAX, "is not a readable ZIP archive (%s)",
                 archive_error_string(a) ? archive_error_string(a) : "cannot be opened");
        archive_read_free(a);
        return NULL;
    }
    return a;
}

int unzip_one(int fd, const unzip_sink *sink, char *why) {
    why[0] = '\0';
    struct archive *a = unzip_open(fd, why);
    if (a == NULL)
        return BI_EINVAL;
    struct archive_entry *entry;
    int files = 0, rc, at = -1, index = 0;
    char name[UNZIP_NAME_MAX + 1] = "";
    for (; (rc = archive_read_next_header(a, &entry)) == ARCHIVE_OK; index++) {
        if (archive_entry_filetype(entry) != AE_IFREG)
            continue; /* directories */
        if (files++ == 0) {
            at = index;
            const char *path = archive_entry_pathname(entry);
            snprintf(name, sizeof name, "%s", path ? path : "");
        }
    }
    if (rc != ARCHIVE_EOF) {
        snprintf(why, UNZIP_WHY_MAX, "is not a readable ZIP archive (%s)",
                 archive_error_string(a) ? archive_error_string(a) : "damaged");
        archive_read_free(a);
        return BI_EINVAL;
    }
    archive_read_free(a);
    if (files != 1) {
        snprintf(why, UNZIP_WHY_MAX, "is a ZIP archive with %d files: it must hold exactly one",
                 files);
        return BI_EINVAL;
    }
    if ((a = unzip_open(fd, why)) == NULL)
        return BI_EINVAL;
    for (index = 0; index <= at; index++)
        if (archive_read_next_header(a, &entry) != ARCHIVE_OK)
            break;
    int err = index == at + 1 ? sink->begin(name, sink->ctx) : BI_EINVAL;
    char *block = malloc(UNZIP_BLOCK);
    if (block == NULL)
        abort();
    la_ssize_t n = 0;
    while (err == 0 && (n = archive_read_data(a, block, UNZIP_BLOCK)) > 0)
        err = sink->bytes(block, (size_t)n, sink->ctx);
    if ((err == 0 && n < 0) || (err == BI_EINVAL && index != at + 1)) {
        snprintf(why, UNZIP_WHY_MAX, "in the ZIP archive cannot be read (%s)",
                 archive_error_string(a) ? archive_error_string(a) : "damaged");
        err = BI_EINVAL;
    }
    free(block);
    archive_read_free(a);
    return err;
}
