/* One JSON object per line on stderr: {"ts","lvl","ev",...}. */
#ifndef CORE_LOG_H
#define CORE_LOG_H

#include <jansson.h>

/*
 * Write one log line with event name ev and the members of fields (a JSON
 * object whose reference this call steals; may be NULL).  Never pass a
 * token, key, card detail or NWC URL in fields.  Thread-safe.
 */
void	 core_log(const char *lvl, const char *ev, json_t *fields);

#endif
