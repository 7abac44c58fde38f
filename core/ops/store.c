/* The connection's life, locks and health over db/db.c. */
#include "core/ops/store.h"
#include "core/result.h"
#include "db/db.h"

int
op_store_library_init(void)
{
	return db_library_init();
}

void
op_store_library_end(void)
{
	db_library_end();
}

void
op_store_thread_init(void)
{
	mysql_thread_init();
}

void
op_store_thread_end(void)
{
	mysql_thread_end();
}

struct db *
op_store_new(const struct core_config *cfg)
{
	return db_new(cfg);
}

void
op_store_free(struct db *db)
{
	db_free(db);
}

int
op_store_connect(struct db *db)
{
	return db_connect(db);
}

int
op_store_ping(struct db *db)
{
	return db_ping(db);
}

const char *
op_store_error(const struct db *db)
{
	return db != NULL ? db->err : "";
}

void
op_store_error_clear(struct db *db)
{
	if (db != NULL)
		db->err[0] = '\0';
}

void
op_store_counts(const struct db *db, uint64_t out[OP_STORE_COUNTS])
{
	int	 i;

	for (i = 0; i < OP_STORE_COUNTS; i++)
		out[i] = db != NULL && i < DB_CNT__MAX ? db->ncount[i] : 0;
}

int
op_store_tx(struct db *db, op_store_tx_fn fn, void *arg)
{
	return db_tx(db, fn, arg);
}

int
op_store_call(struct db *db, op_store_tx_fn fn, void *arg)
{
	return db_call(db, fn, arg);
}

int
op_store_lock_try(struct db *db, const char *name)
{
	return db_lock_try(db, name);
}

void
op_store_unlock(struct db *db, const char *name)
{
	db_unlock(db, name);
}

int
op_store_migrate(const struct core_config *cfg, const char *dir,
    void (*log)(const char *name), char *err, size_t errsz)
{
	return db_migrate(cfg, dir, log, err, errsz);
}
