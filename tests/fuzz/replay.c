/* Replays corpus files through a harness without libFuzzer (make check). */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

/* Corpus files are small; a larger one is a mistake, not an input. */
#define REPLAY_MAX	(1024 * 1024)

/* Feed the file at path to the harness.  Returns 0 or -1 (I/O error). */
static int
replay_file(const char *path)
{
	FILE	*f;
	uint8_t	*buf, *exact;
	size_t	 n;
	int	 rc = -1;

	if ((f = fopen(path, "rb")) == NULL) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	if ((buf = malloc(REPLAY_MAX + 1)) == NULL)
		goto out;
	n = fread(buf, 1, REPLAY_MAX + 1, f);
	if (ferror(f) || n > REPLAY_MAX) {
		fprintf(stderr, "replay: %s: %s\n", path,
		    n > REPLAY_MAX ? "too big" : "read error");
		goto out;
	}
	/*
	 * An exact-size copy, so that ASan sees a harness reading past the
	 * end of its input as it would under libFuzzer.
	 */
	if ((exact = malloc(n > 0 ? n : 1)) == NULL)
		goto out;
	memcpy(exact, buf, n);
	fprintf(stderr, "replay: %s (%zu bytes)\n", path, n);
	LLVMFuzzerTestOneInput(exact, n);
	free(exact);
	rc = 0;
out:
	if (rc != 0 && buf == NULL)
		fprintf(stderr, "replay: out of memory\n");
	free(buf);
	fclose(f);
	return rc;
}

/* Every regular file of dir, in name order.  OUT: *count. */
static int
replay_dir(const char *dir, size_t *count)
{
	struct dirent	**names;
	struct stat	 st;
	char		 path[4096];
	int		 i, n, rc = 0;

	if ((n = scandir(dir, &names, NULL, alphasort)) < 0) {
		fprintf(stderr, "replay: %s: %s\n", dir, strerror(errno));
		return -1;
	}
	for (i = 0; i < n; i++) {
		if (names[i]->d_name[0] == '.' ||
		    (size_t)snprintf(path, sizeof(path), "%s/%s", dir,
		    names[i]->d_name) >= sizeof(path) ||
		    stat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
			free(names[i]);
			continue;
		}
		free(names[i]);
		if (replay_file(path) != 0)
			rc = -1;
		else
			(*count)++;
	}
	free(names);
	return rc;
}

int
main(int argc, char *argv[])
{
	struct stat	 st;
	size_t		 count = 0;
	int		 i, rc = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: %s file|dir ...\n", argv[0]);
		return 2;
	}
	for (i = 1; i < argc; i++) {
		if (stat(argv[i], &st) != 0) {
			fprintf(stderr, "replay: %s: %s\n", argv[i],
			    strerror(errno));
			rc = 1;
		} else if (S_ISDIR(st.st_mode)) {
			if (replay_dir(argv[i], &count) != 0)
				rc = 1;
		} else if (replay_file(argv[i]) != 0)
			rc = 1;
		else
			count++;
	}
	printf("%zu inputs\n", count);
	return rc;
}
