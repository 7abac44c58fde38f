/* Loading the configuration file and the files it names. */
#ifndef CORE_OP_CONFIG_H
#define CORE_OP_CONFIG_H

#include <stddef.h>

#include "core/config.h"

/* The config path: the argument, else $TALLY_CONFIG, else ./tally.conf. */
const char *op_config_path(const char *arg);

/*
 * Read path, parse it with the environment overrides, and fill database
 * socket default ($TALLY_VAR/mariadb.sock).  TALLY_OK, or TALLY_E_CONFIG /
 * TALLY_E_IO with one line in err naming the key or file.
 */
int	 op_config_load(const char *path, struct core_config *cfg, char *err,
	    size_t errsz);

/*
 * Read a whole small file (at most max bytes) into a NUL-terminated
 * malloc'd buffer. NULL on failure.
 */
char	*op_read_file(const char *path, size_t max);

#endif
