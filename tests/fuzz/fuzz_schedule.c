/* Fuzzes the feed schedule parser (intervals and cron): a parsed schedule's next run is after
 * the time asked for, or (time_t)-1 for a cron expression that never matches. */
#include "schedule.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > 256)
        return 0;
    char text[257];
    memcpy(text, data, size);
    text[size] = '\0';
    schedule s;
    char why[160];
    if (schedule_parse(text, &s, why, sizeof why) != 0) {
        if (why[0] == '\0')
            abort(); /* a refusal says why */
        return 0;
    }
    time_t after = 1795000000; /* 2026-11-18 */
    time_t next = schedule_next(&s, after);
    if (next != (time_t)-1 && next <= after)
        abort();
    if (next == (time_t)-1 && !s.is_cron)
        abort(); /* an interval always has a next run */
    return 0;
}
