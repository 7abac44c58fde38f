/* Queries of the subscriptions table. */
#ifndef DB_SUB_H
#define DB_SUB_H

#include <stddef.h>
#include <stdint.h>

struct db;

struct db_sub {
	int64_t	 id;
	int64_t	 account_id;
	char	 product[64];
	char	 status[24];
	char	 interval[16];
	int64_t	 anchor_at;
	int64_t	 end_months;
	int64_t	 run_no;
	int64_t	 period_start;
	int64_t	 period_end;
	int64_t	 next_charge_at;	/* 0: none */
	int64_t	 cancel_at_period_end;
	int64_t	 paused_at;		/* 0: none */
};

/* TALLY_OK or TALLY_E_NOTFOUND.  With lock, FOR UPDATE.  OUT: *s. */
int	 db_sub_get(struct db *, int64_t account_id, const char *product,
	    int lock, struct db_sub *s);
/* An account's subscriptions. OUT: subs[0..*n). */
int	 db_sub_list(struct db *, int64_t account_id, size_t max,
	    struct db_sub *subs, size_t *n);
/* The subscription of user_id (by account user id) for product. */
int	 db_sub_get_by_user(struct db *, const char *user_id,
	    const char *product, struct db_sub *s);
/* Insert s (its id is set). */
int	 db_sub_insert(struct db *, struct db_sub *s, int64_t now);
/* Write every mutable column of s back. */
int	 db_sub_update(struct db *, const struct db_sub *s, int64_t now);
/*
 * Claim up to max due active subscriptions (next_charge_at <= now) with
 * FOR UPDATE SKIP LOCKED, oldest due first.  OUT: subs[0..*n).
 */
int	 db_sub_claim_due(struct db *, int64_t now, size_t max,
	    struct db_sub *subs, size_t *n);

int	 db_sub_lock_id(struct db *, int64_t id, struct db_sub *s);
/*
 * Claim active subscriptions of product whose period ends by horizon and
 * that have no renewal invoice for the cycle (SKIP LOCKED).
 */
int	 db_sub_claim_renewals(struct db *, const char *product,
	    int64_t horizon, size_t max, struct db_sub *subs, size_t *n);
/* End product's active subscriptions whose period is over: canceled
 * when set to end, else expired.  OUT: *n. */
int	 db_sub_end_due(struct db *, const char *product, int64_t now,
	    uint64_t *n);

#endif
