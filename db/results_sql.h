/* results_sql.h — db/'s private SQL fragments for reading a task's results back with the text
 * of their lines (migrations/0006's import_results view, 0015's chunks). Never included outside
 * db/.
 */
#ifndef BI_DB_RESULTS_SQL_H
#define BI_DB_RESULTS_SQL_H

/* The text of line k of chunk c (migrations/0015), NULL when the upload flagged it: a slice of
 * the out-of-line body, read without the rest of it. */
#define CHUNK_LINE_TEXT                                                                            \
    "CASE WHEN c.errors[i.k] IS NULL THEN convert_from(substring(c.body FROM c.starts[i.k] + 1"   \
    " FOR c.starts[i.k + 1] - c.starts[i.k]), 'UTF8') END"

/* The bytes of line k of chunk c. */
#define CHUNK_LINE_BYTES "(c.starts[i.k + 1] - c.starts[i.k])"

/* A FROM item l with the columns columns (of chunk c and line k in it): the line of result row r
 * (any alias with task_id and line_no). */
#define RESULT_LINE_OF(r, columns)                                                                 \
    " LEFT JOIN LATERAL (SELECT " columns " FROM import_chunks c"                                  \
    " CROSS JOIN LATERAL (SELECT " r ".line_no - c.first_line + 1 AS k) i"                         \
    " WHERE c.task_id = " r ".task_id AND c.last_line >= " r ".line_no ORDER BY c.last_line"      \
    " LIMIT 1) l ON true"

/* A FROM item l(text): the line of result row r. */
#define RESULT_LINE_TEXT(r) RESULT_LINE_OF(r, CHUNK_LINE_TEXT " AS text")

/* Result row r with its line text l as one object (README "Results, line by line"). */
#define RESULT_LINE_OBJECT(r)                                                                      \
    "jsonb_build_object('line', " r ".line_no, 'root', " r ".root, 'action_type', " r ".action,"  \
    " 'status_code', CASE WHEN " r ".status = 0 THEN to_jsonb('skip'::text) ELSE"                 \
    " to_jsonb(" r ".status) END, 'obj_type', " r ".obj_type, 'obj_url', " r ".obj_url,"          \
    " 'obj_repo_url', " r ".repo_url, 'obj_owner_url', " r ".owner_url, 'message', " r            \
    ".message, 'error_code', " r ".error_code, 'text', l.text)"

#endif
