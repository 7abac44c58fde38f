/* Queries of purchases, billing profiles, webhook events and payments. */
#ifndef DB_PAY_H
#define DB_PAY_H

#include <stddef.h>
#include <stdint.h>

#include "core/model.h"

struct db;

/* Insert a pending purchase (its id is set). */
int	 db_purchase_insert(struct db *, struct tally_purchase *p, int64_t now);
/* An account's purchase; TALLY_E_NOTFOUND for another account's. */
int	 db_purchase_get(struct db *, int64_t account_id, int64_t id,
	    struct tally_purchase *p);
/* Any purchase by id, FOR UPDATE (webhooks). */
int	 db_purchase_lock(struct db *, int64_t id, struct tally_purchase *p);
/* By provider object (method + checkout session / BTCPay invoice id), or
 * by Stripe payment intent; FOR UPDATE. */
int	 db_purchase_lock_by_provider(struct db *, const char *method,
	    const char *provider_ref, struct tally_purchase *p);
int	 db_purchase_lock_by_payment(struct db *, const char *payment_ref,
	    struct tally_purchase *p);
int	 db_purchase_list(struct db *, int64_t account_id, size_t max,
	    struct tally_purchase *ps, size_t *n);
/* Store the provider object and where the user pays. */
int	 db_purchase_set_checkout(struct db *, int64_t id,
	    const char *provider_ref, const char *url, int64_t expires_at);
/* Write status, completed_at (0: keep), payment_ref (NULL: keep). */
int	 db_purchase_set_status(struct db *, int64_t id, const char *status,
	    int64_t completed_at, const char *payment_ref);
int	 db_purchase_set_refund(struct db *, int64_t id, int64_t refunded,
	    int64_t reversed, int64_t unrecovered);
/* Pending purchases of method whose expires_at passed become expired.
 * OUT: *n. */
int	 db_purchase_expire(struct db *, const char *method, int64_t now,
	    uint64_t *n);

struct db_profile {
	int64_t	 account_id;
	char	 stripe_customer[256];
	char	 card_pm[256];
	char	 card_brand[33];
	char	 card_last4[5];
	char	 nwc_sealed[16384];
};

/* TALLY_OK or TALLY_E_NOTFOUND (then *p is zeroed). */
int	 db_profile_get(struct db *, int64_t account_id, struct db_profile *p);
int	 db_profile_by_customer(struct db *, const char *customer,
	    struct db_profile *p);
int	 db_profile_set_customer(struct db *, int64_t account_id,
	    const char *customer, int64_t now);
/* Set (pm non-NULL) or clear (NULL) the saved card. */
int	 db_profile_set_card(struct db *, int64_t account_id, const char *pm,
	    const char *brand, const char *last4, int64_t now);
/* Set (non-NULL) or clear (NULL) the sealed NWC connection. */
int	 db_profile_set_nwc(struct db *, int64_t account_id,
	    const char *sealed, int64_t now);

/* Record a webhook event; TALLY_E_DUPLICATE when seen before. */
int	 db_webhook_seen(struct db *, const char *provider, const char *id,
	    const char *type, int64_t now);

/* Record a provider payment attempt (reference unique). */
int	 db_payment_insert(struct db *, int64_t account_id, const char *ref,
	    const char *method, int64_t amount, const char *currency,
	    const char *status, const char *provider_ref, const char *message,
	    int64_t now);
/*
 * Record a payment row once: a reference recorded before is
 * TALLY_E_DUPLICATE and changes nothing.  next_attempt_at 0: none.
 */
int	 db_payment_add(struct db *, int64_t account_id, const char *ref,
	    const char *method, int64_t amount, const char *currency,
	    const char *status, const char *provider_ref, const char *message,
	    int64_t next_attempt_at, int64_t now);

/* A refund still to be asked of the provider (status refund_pending). */
struct db_refund {
	int64_t	 id;
	int64_t	 account_id;
	char	 reference[192];
	int64_t	 amount;
	char	 currency[4];
	char	 provider_ref[256];	/* the payment to refund */
	int64_t	 attempts;
};

/* Pending refunds due at now, oldest first, at most max.
 * OUT: rs[0..*n). */
int	 db_refund_due(struct db *, int64_t now, size_t max,
	    struct db_refund *rs, size_t *n);
/*
 * Take refund id for one attempt: counts it and moves its next attempt to
 * next, only while it is pending and due at now, so two workers never
 * make the same attempt.  OUT: *claimed.
 */
int	 db_refund_claim(struct db *, int64_t id, int64_t now, int64_t next,
	    int *claimed);
/* End a pending refund with status ("refunded", "refund_failed"). */
int	 db_refund_finish(struct db *, int64_t id, const char *status,
	    const char *message);
/* Note why the last attempt of a pending refund failed. */
int	 db_refund_note(struct db *, int64_t id, const char *message);

#endif
