/* Queries of invoices, invoice items, activities and plan renewals. */
#ifndef DB_INVOICE_H
#define DB_INVOICE_H

#include <stddef.h>
#include <stdint.h>

#include "core/model.h"

struct db;

/* The account's next invoice sequence number, under its row lock (so
 * numbers are gap-free: a rolled-back invoice gives its number back). */
int	 db_invoice_next_seq(struct db *, int64_t account_id, int64_t *seq);
/* Insert inv (id set); TALLY_E_DUPLICATE when cycle_key exists. */
int	 db_invoice_insert(struct db *, struct db_invoice *inv, int64_t seq,
	    int64_t now);
int	 db_invoice_get(struct db *, int64_t account_id, int64_t id,
	    struct db_invoice *);
int	 db_invoice_lock(struct db *, int64_t id, struct db_invoice *);
/* By cycle key, FOR UPDATE. */
int	 db_invoice_by_cycle(struct db *, const char *key,
	    struct db_invoice *);
int	 db_invoice_list(struct db *, int64_t account_id, size_t max,
	    struct db_invoice *, size_t *n);
/* Paid via a method; ref names the provider payment (NULL: none). */
int	 db_invoice_set_paid(struct db *, int64_t id, const char *via,
	    const char *ref, int64_t now);
/* The provider payment that paid invoice id ("" when none). OUT: ref. */
int	 db_invoice_paid_ref(struct db *, int64_t id, char *ref,
	    size_t refsz);
int	 db_invoice_expire_due(struct db *, int64_t now, uint64_t *n);
/* Pending usage invoices whose payment cascade has not run (SKIP LOCKED). */
int	 db_invoice_claim_cascade(struct db *, size_t max, int64_t *ids,
	    size_t *n);
int	 db_invoice_cascade_done(struct db *, int64_t id);

/* Add an item; outstanding when invoice_id is 0.  A source_key seen
 * before is TALLY_E_DUPLICATE (the cause was billed already). */
int	 db_item_insert(struct db *, int64_t account_id, int64_t invoice_id,
	    const char *description, int64_t amount, const char *resource_id,
	    const char *plan, const char *source_key, int64_t now);
/* A line of invoice invoice_id; redemption_id (0: none) marks a
 * coupon's discount line. */
int	 db_item_insert_line(struct db *, int64_t account_id,
	    int64_t invoice_id, const char *description, int64_t amount,
	    const char *resource_id, const char *plan, int64_t redemption_id,
	    int64_t now);
int	 db_item_list(struct db *, int64_t invoice_id, size_t max,
	    struct db_item *, size_t *n);
/* The account's outstanding items up to id max_id (locked by
 * db_item_open), summed per plan ("" for none).  OUT: plans, sums. */
int	 db_item_open_plans(struct db *, int64_t account_id, int64_t max_id,
	    size_t max, char (*plans)[64], int64_t *sums, size_t *n);
/* Lock the outstanding items: OUT: their sum, count and highest id. */
int	 db_item_open(struct db *, int64_t account_id, int64_t *sum,
	    int64_t *count, int64_t *max_id);
int	 db_item_claim(struct db *, int64_t account_id, int64_t invoice_id,
	    int64_t max_id);
/* Accounts with outstanding items, from after_id on. */
int	 db_item_open_accounts(struct db *, int64_t after_id, size_t max,
	    int64_t *ids, size_t *n);

struct db_activity {
	int64_t	 id;
	char	 resource_id[1021];
	int	 type;
	char	 plan[64];
	int64_t	 at;
};

/* TALLY_OK (OUT: *id) or TALLY_E_DUPLICATE (recorded before). */
int	 db_activity_insert(struct db *, int64_t account_id,
	    const char *resource_id, const char *type, const char *plan,
	    int64_t at, int64_t now, int64_t *id);
/* A resource's activities before (at, id), in order. */
int	 db_activity_before(struct db *, int64_t account_id,
	    const char *resource_id, int64_t at, int64_t id, size_t max,
	    struct db_activity *, size_t *n);
/* All the account's activities before time t, by resource then time. */
int	 db_activity_all_before(struct db *, int64_t account_id, int64_t t,
	    size_t max, struct db_activity *, size_t *n);

/* The account's billing anchor, FOR UPDATE (0: none). */
int	 db_anchor_lock(struct db *, int64_t account_id, int64_t *anchor);
int	 db_anchor_set(struct db *, int64_t account_id, int64_t anchor);
/* Anchored accounts after after_id. OUT: ids, anchors. */
int	 db_anchor_accounts(struct db *, int64_t after_id, size_t max,
	    int64_t *ids, int64_t *anchors, size_t *n);
/* TALLY_OK when this call took the (account, period) renewal,
 * TALLY_E_DUPLICATE when it was done. */
int	 db_renewal_take(struct db *, int64_t account_id, int64_t start,
	    int64_t now);

#endif
