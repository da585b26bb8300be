/* drf.h — an import line's values as OCL's serializers take them.
 *
 * OCL (oclapi2) reads lines with Django REST framework fields. A string field takes a string
 * and also a number, as Python's str() of what json.loads gives (1 → "1", 1.5 → "1.5",
 * 1e2 → "100.0"), but not a boolean, an object or an array. A boolean field takes true and
 * false and DRF 3.16's spellings in any case ("Yes", "oN", "1", 1, 0.0, ...). OCL stores the canonical form, so this
 * module rewrites the line into it: the cJSON tree in place, and the raw text by replacing
 * just the values it changes (every other byte stays as sent). Numbers jsonb cannot hold
 * never get here: jsontext.h refuses them first. Pure; touches no database.
 */
#ifndef BI_IMPORTER_DRF_H
#define BI_IMPORTER_DRF_H

#include "rules.h"

#include <cjson/cJSON.h>
#include <stddef.h>

#define DRF_NUMBER_MAX 40 /* Python's str() of a float fits; longer integers stay as they are */

/* Rewrites line (parsed from text, len bytes, which jsontext_scan accepted) into OCL's
 * canonical values. Returns 0 with *out_text NULL when nothing changed, or with *out_text a
 * new malloc'd NUL-terminated text of *out_len bytes (the caller frees it); or BI_EFIELDTYPE
 * with *err naming the field a serializer would refuse (nothing is written to *out_text). */
int drf_canonicalize(cJSON *line, const char *text, size_t len, char **out_text, size_t *out_len,
                     rules_error *err);

/* Python's str(json.loads(token)) of the JSON number token (len bytes) into out (cap bytes, at
 * least DRF_NUMBER_MAX for a float; an integer needs len + 1). Returns its length, or -1 when
 * cap is too small. */
int drf_number_text(const char *token, size_t len, char *out, size_t cap);

#endif
