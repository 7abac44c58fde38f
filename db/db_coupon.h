/* Queries of coupons and their redemptions. */
#ifndef DB_COUPON_H
#define DB_COUPON_H

#include <stddef.h>
#include <stdint.h>

#include "core/model.h"

struct db;

/* Insert c (its id set); TALLY_E_DUPLICATE when the code is taken. */
int	 db_coupon_insert(struct db *, struct db_coupon *c, int64_t now);
int	 db_coupon_get(struct db *, int64_t id, struct db_coupon *);
/* By normalised code, FOR UPDATE: the row lock orders redemptions. */
int	 db_coupon_lock_by_key(struct db *, const char *key,
	    struct db_coupon *);
/* Newest first, at most max. */
int	 db_coupon_list(struct db *, size_t max, struct db_coupon *,
	    size_t *n);
int	 db_coupon_deactivate(struct db *, int64_t id, int64_t now);
/* One more redemption (the caller holds the row lock and checked). */
int	 db_coupon_bump(struct db *, int64_t id);

/* Insert r (its id set); TALLY_E_DUPLICATE when the account redeemed the
 * coupon before. */
int	 db_redemption_insert(struct db *, struct db_redemption *r,
	    int64_t now);
/* The account's redemption of coupon_id, FOR UPDATE. */
int	 db_redemption_lock(struct db *, int64_t coupon_id,
	    int64_t account_id, struct db_redemption *);
/* The active redemption on a subscription, or on the account's plans
 * (subscription_id 0), with its coupon, FOR UPDATE; TALLY_E_NOTFOUND. */
int	 db_redemption_active(struct db *, int64_t account_id,
	    int64_t subscription_id, struct db_redemption *);
/* The redemption of a purchase, with its coupon; TALLY_E_NOTFOUND. */
int	 db_redemption_of_purchase(struct db *, int64_t purchase_id,
	    struct db_redemption *);
/* The account's redemptions, newest first, with their coupons. */
int	 db_redemption_list(struct db *, int64_t account_id, size_t max,
	    struct db_redemption *, size_t *n);
/* Store periods_used, last_period and status (ended: ended_at = now). */
int	 db_redemption_update(struct db *, const struct db_redemption *,
	    int64_t now);
int	 db_redemption_set_purchase(struct db *, int64_t id,
	    int64_t purchase_id);
/* The bonus (and coupon code, may be NULL) a purchase carries. */
int	 db_purchase_set_bonus(struct db *, int64_t purchase_id,
	    int64_t bonus, const char *code);

#endif
