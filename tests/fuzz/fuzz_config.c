/* libFuzzer harness: core_config_parse() on arbitrary INI text. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "fuzz.h"
#include "result.h"

/* Overrides exercise the environment path; the text decides the rest. */
static const char *
env(const char *name)
{
	if (strcmp(name, "TALLY_SCHEDULER_TICK_SECONDS") == 0)
		return "30";
	return NULL;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct core_config	*cfg;
	char			*text, err[256];
	size_t			 i;
	int			 rc;

	if ((text = malloc(size + 1)) == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if ((cfg = malloc(sizeof(*cfg))) == NULL) {
		free(text);
		return 0;
	}
	memset(err, 'x', sizeof(err));
	rc = core_config_parse(text, (size & 1) ? env : NULL, cfg, err,
	    sizeof(err));
	if (memchr(err, '\0', sizeof(err)) == NULL)
		abort();
	if (rc == TALLY_OK) {
		/* A valid configuration is complete and self-consistent. */
		if (err[0] != '\0' || cfg->nproducts > CORE_CATALOG_MAX ||
		    cfg->nplans > CORE_CATALOG_MAX ||
		    cfg->npackages > CORE_CATALOG_MAX ||
		    strlen(cfg->service_key) < 16 ||
		    strlen(cfg->admin_key) < 16 || strlen(cfg->currency) != 3 ||
		    cfg->http_max_body < 1024)
			abort();
		for (i = 0; i < cfg->nproducts; i++)
			if (core_config_product(cfg, cfg->products[i].id) !=
			    &cfg->products[i] || cfg->products[i].name[0] == '\0')
				abort();
		for (i = 0; i < cfg->nplans; i++)
			if (core_config_plan(cfg, cfg->plans[i].id) !=
			    &cfg->plans[i] || cfg->plans[i].monthly < 0)
				abort();
		for (i = 0; i < cfg->npackages; i++)
			if (core_config_package(cfg, cfg->packages[i].id) !=
			    &cfg->packages[i] || cfg->packages[i].credits <= 0)
				abort();
	} else if (rc != TALLY_E_CONFIG || err[0] == '\0' ||
	    strchr(err, '\n') != NULL)
		abort();
	free(cfg);
	free(text);
	return 0;
}
