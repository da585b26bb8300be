/* urls.h — OCL resource URLs: parsing them into their parts and formatting them canonically.
 *
 * Every OCL URL is a path of percent-encoded segments ending with "/":
 *   /orgs/:org/  /users/:user/                                   owners
 *   <owner>sources/:src/  <owner>collections/:col/               repositories
 *   <repo>:version/                                              repository versions
 *   <repo>concepts/:id/[:version/]  <repo>mappings/:id/[:version/]   concepts and mappings
 * Formatting encodes each segment canonically (everything but A-Z a-z 0-9 - . _ ~ @ becomes
 * %XX), so two spellings of one resource compare equal after parse + format. Pure: no I/O.
 */
#ifndef BI_IMPORTER_URLS_H
#define BI_IMPORTER_URLS_H

#include "ids.h"

#include <stdbool.h>
#include <stddef.h>

#define URLS_MAX 1280          /* longest canonical URL: every id at its longest, encoded */
#define URLS_CONCEPT_ID_MAX 255 /* bytes of a concept or mapping id, decoded */

enum urls_owner_type { URLS_NO_OWNER, URLS_ORG, URLS_USER };
enum urls_repo_type { URLS_NO_REPO, URLS_SOURCE, URLS_COLLECTION };
enum urls_kind {
    URLS_OWNER,        /* /orgs/:org/ */
    URLS_REPO,         /* <owner>sources/:src/ */
    URLS_REPO_VERSION, /* <repo>:version/ */
    URLS_CONCEPT,      /* <repo>concepts/:id/[:version/] */
    URLS_MAPPING,      /* <repo>mappings/:id/[:version/] */
};

/* The parts of a resource URL. Strings are decoded; "" means absent. */
typedef struct urls_ref {
    enum urls_kind kind;
    enum urls_owner_type owner_type;
    char owner[IDS_NAME_MAX + 1];
    enum urls_repo_type repo_type;
    char repo[IDS_NAME_MAX + 1];
    char repo_version[IDS_NAME_MAX + 1]; /* URLS_REPO_VERSION only */
    char id[URLS_CONCEPT_ID_MAX + 1];     /* concept or mapping id */
    char version[IDS_NAME_MAX + 1];       /* concept or mapping version, optional */
} urls_ref;

/* Parses url (NUL-terminated, with or without its final "/"). Returns 0 and fills *out, or
 * BI_EBADURL when it is not one of the forms above or a segment is not a valid id. A repository
 * version "HEAD" parses as the repository itself (the live content). */
int urls_parse(const char *url, urls_ref *out);

/* Writes the canonical URL of ref to out (out_len >= URLS_MAX always suffices). Returns 0, or
 * BI_EINVAL when ref is incomplete for its kind. */
int urls_format(const urls_ref *ref, char *out, size_t out_len);

/* Writes the canonical URL of ref's owner ("/orgs/X/") or repository ("/orgs/X/sources/Y/"). */
int urls_format_owner(const urls_ref *ref, char *out, size_t out_len);
int urls_format_repo(const urls_ref *ref, char *out, size_t out_len);

/* Appends the percent-encoding of text (len bytes) as one path segment to out, which holds
 * *pos bytes of out_len. Returns 0, or BI_EINVAL when it does not fit (out is then untouched
 * past *pos). */
int urls_encode_segment(const char *text, size_t len, char *out, size_t out_len, size_t *pos);

/* Returns true when text (len bytes) is a valid concept or mapping id: 1-255 bytes of UTF-8
 * without control characters. */
bool urls_concept_id_is_valid(const char *text, size_t len);

/* Returns true when name may be a repository version id: a valid name that is not one of the
 * reserved path words (HEAD, concepts, mappings, versions, references, members, sources,
 * collections). */
bool urls_version_id_is_valid(const char *name, size_t len);

/* The value of hexadecimal digit c, or -1 (for percent-decoding). */
int urls_hex_digit(char c);

#endif
