/* JSON-lines logging to stderr, one write(2) per event. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/ops/log.h"
#include "core/timeutil.h"

void
core_log(const char *lvl, const char *ev, json_t *fields)
{
	struct timespec	 ts;
	char		 iso[32], stamp[48];
	json_t		*o;
	char		*line;
	size_t		 n;

	clock_gettime(CLOCK_REALTIME, &ts);
	core_time_format_iso((int64_t)ts.tv_sec, iso, sizeof(iso));
	/* Milliseconds help order lines of one second. */
	snprintf(stamp, sizeof(stamp), "%.19s.%03ldZ", iso,
	    ts.tv_nsec / 1000000L);
	if ((o = json_object()) == NULL) {
		json_decref(fields);
		return;
	}
	json_object_set_new(o, "ts", json_string(stamp));
	json_object_set_new(o, "lvl", json_string(lvl));
	json_object_set_new(o, "ev", json_string(ev));
	if (fields != NULL)
		json_object_update(o, fields);
	json_decref(fields);
	if ((line = json_dumps(o, JSON_COMPACT)) != NULL) {
		n = strlen(line);
		line[n] = '\n';		/* json_dumps left room for the NUL */
		/* One write keeps lines of concurrent threads whole. */
		if (write(STDERR_FILENO, line, n + 1) < 0) {
			/* Nowhere left to report it. */
		}
		free(line);
	}
	json_decref(o);
}
