/* Forward-only schema migrations: db/migrations/NNNN_name.sql, each once. */
#include <ctype.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/result.h"
#include "db/db.h"

#define MIGRATIONS_MAX	1000
#define MIGRATION_BYTES	(1024 * 1024)

/*
 * The migration runner is the one place that sends SQL text with
 * mysql_real_query: migration files are multi-statement DDL, which the
 * prepared-statement protocol cannot carry.
 */
static const char create_table_sql[] =
	"CREATE TABLE IF NOT EXISTS schema_migrations ("
	" version VARCHAR(255) NOT NULL PRIMARY KEY,"
	" applied_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP"
	") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4";
static const char applied_sql[] =
	"SELECT 1 FROM schema_migrations WHERE version = ?";
static const char record_sql[] =
	"INSERT INTO schema_migrations (version) VALUES (?)";

static int
is_migration(const char *name)
{
	size_t	 n = strlen(name);

	return n > 9 && isdigit((unsigned char)name[0]) &&
	    isdigit((unsigned char)name[1]) && isdigit((unsigned char)name[2]) &&
	    isdigit((unsigned char)name[3]) && name[4] == '_' &&
	    strcmp(name + n - 4, ".sql") == 0;
}

static int
cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static char *
read_file(const char *path, char *err, size_t errsz)
{
	FILE	*f;
	char	*buf;
	size_t	 n;

	if ((f = fopen(path, "r")) == NULL) {
		snprintf(err, errsz, "%s: cannot open", path);
		return NULL;
	}
	if ((buf = malloc(MIGRATION_BYTES + 1)) == NULL) {
		fclose(f);
		return NULL;
	}
	n = fread(buf, 1, MIGRATION_BYTES + 1, f);
	fclose(f);
	if (n > MIGRATION_BYTES) {
		snprintf(err, errsz, "%s: larger than 1 MiB", path);
		free(buf);
		return NULL;
	}
	buf[n] = '\0';
	return buf;
}

/* Run a multi-statement text and drain every result. */
static int
run_text(MYSQL *c, const char *sql, const char *what, char *err, size_t errsz)
{
	MYSQL_RES	*res;
	int		 st;

	if (mysql_real_query(c, sql, strlen(sql)) != 0)
		goto fail;
	do {
		if ((res = mysql_store_result(c)) != NULL)
			mysql_free_result(res);
		else if (mysql_field_count(c) != 0)
			goto fail;
		if ((st = mysql_next_result(c)) > 0)
			goto fail;
	} while (st == 0);
	return TALLY_OK;
fail:
	snprintf(err, errsz, "%s: %u: %s", what, mysql_errno(c),
	    mysql_error(c));
	return TALLY_E_INTERNAL;
}

/* Bind one string parameter and execute a statement on c. */
static int
run_stmt(MYSQL *c, const char *sql, const char *arg, int *found)
{
	MYSQL_STMT	*st;
	MYSQL_BIND	 b;
	unsigned long	 len = strlen(arg);
	int		 rc = TALLY_E_INTERNAL;

	if ((st = mysql_stmt_init(c)) == NULL)
		return rc;
	memset(&b, 0, sizeof(b));
	b.buffer_type = MYSQL_TYPE_STRING;
	b.buffer = (void *)(uintptr_t)arg;
	b.buffer_length = len;
	b.length = &len;
	if (mysql_stmt_prepare(st, sql, strlen(sql)) != 0 ||
	    mysql_stmt_bind_param(st, &b) != 0 || mysql_stmt_execute(st) != 0)
		goto out;
	if (found != NULL) {
		if (mysql_stmt_store_result(st) != 0)
			goto out;
		*found = mysql_stmt_num_rows(st) > 0;
	}
	rc = TALLY_OK;
out:
	mysql_stmt_close(st);
	return rc;
}

static int
valid_dbname(const char *s)
{
	if (*s == '\0' || strlen(s) > 64)
		return 0;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '_')
			return 0;
	return 1;
}

int
db_migrate(const struct core_config *cfg, const char *dir,
    void (*log)(const char *), char *err, size_t errsz)
{
	struct dirent	*de;
	DIR		*d = NULL;
	MYSQL		*c = NULL;
	char		*names[MIGRATIONS_MAX], path[4096], create[160];
	char		*text;
	size_t		 n = 0, i;
	int		 rc = TALLY_E_INTERNAL, found;

	if (!valid_dbname(cfg->db_name)) {
		snprintf(err, errsz, "database.name: only A-Z, a-z, 0-9, _");
		return TALLY_E_CONFIG;
	}
	if ((d = opendir(dir)) == NULL) {
		snprintf(err, errsz, "%s: cannot open directory", dir);
		return TALLY_E_IO;
	}
	while ((de = readdir(d)) != NULL && n < MIGRATIONS_MAX)
		if (is_migration(de->d_name) &&
		    (names[n] = strdup(de->d_name)) != NULL)
			n++;
	closedir(d);
	qsort(names, n, sizeof(names[0]), cmp_names);

	/* Connect without a database first so that we can create it. */
	if ((c = mysql_init(NULL)) == NULL)
		goto out;
	if (mysql_real_connect(c, cfg->db_host[0] ? cfg->db_host : NULL,
	    cfg->db_user, cfg->db_password, NULL, (unsigned int)cfg->db_port,
	    cfg->db_host[0] ? NULL : (cfg->db_socket[0] ? cfg->db_socket : NULL),
	    CLIENT_MULTI_STATEMENTS) == NULL) {
		snprintf(err, errsz, "connect: %s", mysql_error(c));
		rc = TALLY_E_UNAVAILABLE;
		goto out;
	}
	/* The name was checked above to be a plain identifier. */
	snprintf(create, sizeof(create), "CREATE DATABASE IF NOT EXISTS `%s` "
	    "CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin", cfg->db_name);
	if ((rc = run_text(c, create, "create database", err, errsz)) != 0)
		goto out;
	if (mysql_select_db(c, cfg->db_name) != 0) {
		snprintf(err, errsz, "use: %s", mysql_error(c));
		rc = TALLY_E_INTERNAL;
		goto out;
	}
	if ((rc = run_text(c, "SET time_zone = '+00:00'", "time zone", err,
	    errsz)) != 0 || (rc = run_text(c, create_table_sql,
	    "schema_migrations", err, errsz)) != 0)
		goto out;
	for (i = 0; i < n; i++) {
		if ((rc = run_stmt(c, applied_sql, names[i], &found)) != 0) {
			snprintf(err, errsz, "%s: %s", names[i], mysql_error(c));
			goto out;
		}
		if (found)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		if ((text = read_file(path, err, errsz)) == NULL) {
			rc = TALLY_E_IO;
			goto out;
		}
		rc = run_text(c, text, names[i], err, errsz);
		free(text);
		if (rc != TALLY_OK)
			goto out;
		if ((rc = run_stmt(c, record_sql, names[i], NULL)) != 0) {
			snprintf(err, errsz, "%s: %s", names[i], mysql_error(c));
			goto out;
		}
		if (log != NULL)
			log(names[i]);
	}
	rc = TALLY_OK;
out:
	if (c != NULL)
		mysql_close(c);
	for (i = 0; i < n; i++)
		free(names[i]);
	return rc;
}
