/* task_state.c — see task_state.h. */
#include "task_state.h"

#include <string.h>

static const char *const state_names[] = {
#define DB_TASK_STATE_NAME(name) #name,
    DB_TASK_STATE_MAP(DB_TASK_STATE_NAME)
#undef DB_TASK_STATE_NAME
};

static const char *const phase_names[] = {
#define DB_TASK_PHASE_NAME(name, text) text,
    DB_TASK_PHASE_MAP(DB_TASK_PHASE_NAME)
#undef DB_TASK_PHASE_NAME
};

const char *db_task_state_name(enum db_task_state state) {
    return state >= 0 && state < DB_TASK_N_STATES ? state_names[state] : "UNKNOWN";
}

bool db_task_state_parse(const char *name, enum db_task_state *out) {
    for (int i = 0; i < DB_TASK_N_STATES; i++)
        if (strcmp(name, state_names[i]) == 0) {
            *out = (enum db_task_state)i;
            return true;
        }
    return false;
}

bool db_task_state_running(enum db_task_state state) {
    return state == DB_TASK_PENDING || state == DB_TASK_STARTED;
}

const char *db_task_phase_name(enum db_task_phase phase) {
    return phase >= 0 && phase < DB_TASK_N_PHASES ? phase_names[phase] : "import";
}

bool db_task_phase_parse(const char *name, enum db_task_phase *out) {
    for (int i = 0; i < DB_TASK_N_PHASES; i++)
        if (strcmp(name, phase_names[i]) == 0) {
            *out = (enum db_task_phase)i;
            return true;
        }
    return false;
}
