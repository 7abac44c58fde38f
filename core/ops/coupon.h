/* Coupons: the operator's catalog of codes, a user's redemption of one on
 * an invoice subscription, on per-resource plans or on a credit purchase,
 * and the discount lines and bonus credits they give.  Each *_tx runs in
 * the caller's transaction.  The arithmetic is core/coupon.h. */
#ifndef CORE_OP_COUPON_H
#define CORE_OP_COUPON_H

#include <stddef.h>
#include <stdint.h>

#include "core/config.h"
#include "core/coupon.h"
#include "core/model.h"

struct db;
struct op_item;

/* A coupon to create (checked by the handler, again by the database). */
struct op_coupon_new {
	const char	*code;		/* as typed; normalised here */
	const char	*name;		/* may be NULL */
	struct core_coupon_terms terms;
	const char	*applies_to;	/* "product:ID plan:ID ..."; "" all */
	int64_t		 max_redemptions;	/* -1: no limit */
	int64_t		 expires_at;	/* 0: never */
	const char	*actor;
};

/*
 * Admin: create a coupon, with an audit row.  TALLY_E_INVALID (the code),
 * TALLY_E_DUPLICATE (the code is taken, also in another spelling).
 * OUT: *c.
 */
int	 op_coupon_create_tx(struct db *, const struct core_config *,
	    const struct op_coupon_new *, int64_t now, struct db_coupon *c);
int	 op_coupon_get(struct db *, int64_t id, struct db_coupon *);
int	 op_coupon_list(struct db *, size_t max, struct db_coupon *,
	    size_t *n);
/* Admin: no new redemptions from now on (those made keep running); an
 * audit row.  Deactivated already is TALLY_OK.  OUT: *c (after). */
int	 op_coupon_deactivate_tx(struct db *, int64_t id, const char *actor,
	    int64_t now, struct db_coupon *c);

/*
 * Apply the coupon typed as code to the account's subscription of
 * invoice-billed product (product != NULL) or to its per-resource plans
 * (product NULL).  The discount goes on every invoice issued for them
 * afterwards, for the coupon's duration.  TALLY_E_COUPON_* (see
 * core/result.h), TALLY_E_NOTFOUND (no subscription), TALLY_E_CONFLICT
 * (the subscription ended), TALLY_E_INVALID (not an invoice product).
 * Nothing changes on an error.  OUT: *r.
 */
int	 op_coupon_apply_tx(struct db *, const struct core_config *,
	    const struct tally_account *, const char *code,
	    const char *product, int64_t now, struct db_redemption *r);

/* The account's redemptions, newest first.  OUT: rs[0..*n). */
int	 op_coupon_redemptions(struct db *, int64_t account_id, size_t max,
	    struct db_redemption *rs, size_t *n);

/*
 * The discount line for a new invoice of the account: for subscription
 * sub_id (0: per-resource plans, whose lines carry their plan) and the
 * billing period starting at period, over items[0..n); product names the
 * subscription's product.  With an active redemption covering the period,
 * *line is its negative line (amount < 0, redemption_id set) and the
 * redemption counts the period; otherwise line->amount is 0.  A
 * redemption whose periods are all used ends.  OUT: *line, desc.
 */
int	 op_coupon_discount_tx(struct db *, int64_t account_id,
	    int64_t sub_id, const char *product, int64_t period,
	    const struct op_item *items, size_t n, int64_t now,
	    struct op_item *line, char *desc, size_t descsz);

/*
 * The same for per-resource plans whose outstanding items are given as
 * sums per plan (plans[i] may be ""), with subtotal their sum.
 */
int	 op_coupon_discount_plans_tx(struct db *, int64_t account_id,
	    int64_t period, char (*plans)[64], const int64_t *sums, size_t n,
	    int64_t now, struct op_item *line, char *desc, size_t descsz);

/*
 * Redeem the coupon typed as code on purchase purchase_id of package pk:
 * its bonus credits are stored on the purchase and credited with it.
 * The account's redemption of the coupon for a purchase that did not
 * succeed (abandoned, expired, failed) moves to this one.
 * TALLY_E_COUPON_* as op_coupon_apply_tx.  OUT: *bonus, code (33 bytes).
 */
int	 op_coupon_purchase_tx(struct db *, const struct tally_account *,
	    const struct core_package *pk, const char *code,
	    int64_t purchase_id, int64_t now, int64_t *bonus, char *shown);

#endif
