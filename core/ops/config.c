/* Configuration loading: the file, the environment, derived defaults. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/sha.h>

#include "core/ops/config.h"
#include "core/result.h"

#define CONFIG_MAX	(1024 * 1024)

const char *
op_config_path(const char *arg)
{
	const char	*env;

	if (arg != NULL && *arg != '\0')
		return arg;
	if ((env = getenv("TALLY_CONFIG")) != NULL && *env != '\0')
		return env;
	return "./tally.conf";
}

char *
op_read_file(const char *path, size_t max)
{
	FILE	*f;
	char	*buf;
	size_t	 n;

	if ((f = fopen(path, "r")) == NULL)
		return NULL;
	if ((buf = malloc(max + 1)) == NULL) {
		fclose(f);
		return NULL;
	}
	n = fread(buf, 1, max + 1, f);
	fclose(f);
	if (n > max) {
		free(buf);
		return NULL;
	}
	buf[n] = '\0';
	return buf;
}

static const char *
env_lookup(const char *name)
{
	return getenv(name);
}

/*
 * Where the responders of this configuration share their counters:
 * $TALLY_VAR/metrics.shm, else a file in /dev/shm named after the user
 * and the configuration file, so that two installations never mix.
 */
static void
metrics_file_default(const char *config, char *out, size_t outsz)
{
	unsigned char	 md[SHA256_DIGEST_LENGTH];
	const char	*var = getenv("TALLY_VAR");
	char		*real;

	if (var != NULL && *var != '\0') {
		snprintf(out, outsz, "%s/metrics.shm", var);
		return;
	}
	real = realpath(config, NULL);
	SHA256((const unsigned char *)(real != NULL ? real : config),
	    strlen(real != NULL ? real : config), md);
	free(real);
	snprintf(out, outsz, "/dev/shm/tally-metrics-%u-%02x%02x%02x%02x%02x%02x",
	    (unsigned)getuid(), md[0], md[1], md[2], md[3], md[4], md[5]);
}

int
op_config_load(const char *path, struct core_config *cfg, char *err,
    size_t errsz)
{
	const char	*var;
	char		*text;
	int		 rc;

	if ((text = op_read_file(path, CONFIG_MAX)) == NULL) {
		snprintf(err, errsz, "%s: cannot read configuration file",
		    path);
		return TALLY_E_IO;
	}
	rc = core_config_parse(text, env_lookup, cfg, err, errsz);
	free(text);
	if (rc != TALLY_OK)
		return rc;
	if (cfg->db_socket[0] == '\0' && cfg->db_host[0] == '\0') {
		var = getenv("TALLY_VAR");
		if (var == NULL || *var == '\0')
			var = "./var";
		snprintf(cfg->db_socket, sizeof(cfg->db_socket),
		    "%s/mariadb.sock", var);
	}
	if (cfg->http_metrics_file[0] == '\0')
		metrics_file_default(path, cfg->http_metrics_file,
		    sizeof(cfg->http_metrics_file));
	return TALLY_OK;
}
