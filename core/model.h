/* The billing objects as the layers pass them around (no behaviour). */
#ifndef CORE_MODEL_H
#define CORE_MODEL_H

#include <stdint.h>

struct tally_account {
	int64_t	 id;
	char	 user_id[1021];	/* 255 characters of UTF-8 */
	char	 email[1281];	/* 320 characters; empty: none known */
	char	 locale[16];	/* empty: none known */
	int64_t	 balance;
	int64_t	 created_at;
};

/* One ledger row (the API's TX). */
struct tally_tx {
	int64_t	 id;
	char	 kind[24];
	int64_t	 amount;	/* signed */
	int64_t	 balance_after;
	char	 operation[404];	/* 100 characters of UTF-8 */
	int	 has_operation;
	char	 description[2004];	/* 500 characters of UTF-8 */
	int	 has_description;
	int64_t	 created_at;
};

/* One row of usage statistics: a day ("YYYY-MM-DD") or an operation,
 * how many debits and how many credits they took (refunds taken back). */
struct tally_usage_row {
	char	 key[404];
	int64_t	 uses;
	int64_t	 credits;
};

struct tally_purchase {
	int64_t	 id;
	char	 package[64];
	int64_t	 credits;
	int64_t	 amount;
	char	 currency[4];
	char	 method[16];
	char	 status[16];
	int64_t	 created_at;
	int64_t	 completed_at;	/* 0: not completed */
	int64_t	 account_id;
	char	 provider_ref[256];	/* checkout session or BTCPay invoice */
	char	 checkout_url[1025];
	char	 payment_ref[256];	/* Stripe payment intent */
	int64_t	 expires_at;
	int64_t	 refunded_amount;
	int64_t	 credits_reversed;
	int64_t	 credits_unrecovered;
	int64_t	 bonus_credits;		/* a coupon's, credited with it */
	char	 coupon_code[33];	/* empty: none */
};

/*
 * Rows that operations hand to handlers.  They keep the db_ names they
 * had in db/ (files outside this change still use them); db/ fills them.
 */

/* An invoice. */
struct db_invoice {
	int64_t	 id;
	int64_t	 account_id;
	char	 number[32];
	char	 status[16];
	char	 kind[16];
	char	 currency[4];
	int64_t	 total;
	int64_t	 period_start, period_end;	/* 0: none */
	int64_t	 expires_at, paid_at;		/* 0: none */
	char	 paid_via[16];
	int64_t	 subscription_id;		/* 0: none */
	char	 cycle_key[192];
	/*
	 * Dunning (retries of a failed automatic payment), read only for
	 * the user's own views (db_invoice_get, db_invoice_list); 0 and
	 * empty otherwise, or when its automatic payment never failed.
	 */
	int64_t	 dunning_failed_at;		/* 0: none */
	int64_t	 dunning_attempt;		/* retries made */
	int64_t	 dunning_planned;		/* retries scheduled */
	int64_t	 dunning_next_at;		/* 0: no retry left */
	char	 dunning_reason[1024];		/* the last failure's */
	int64_t	 created_at;			/* issued */
};

/* One line of an invoice (or an outstanding item). */
struct db_item {
	int64_t	 id;
	char	 description[2004];
	int64_t	 amount;
	char	 resource_id[1021];
	char	 plan[64];
	int64_t	 redemption_id;	/* a coupon's discount line; 0: not one */
};

/* A Lightning payment: a BTCPay invoice for one of our subjects. */
struct db_ln {
	char	 btcpay_invoice[256];
	char	 subject_type[16];
	int64_t	 subject_id;
	int64_t	 account_id;
	int64_t	 amount;
	char	 currency[4];
	char	 bolt11[4096];
	char	 checkout_url[1025];
	char	 status[16];
	int64_t	 expires_at;
	int64_t	 created_at;
};

/* A gift of credits. */
struct db_gift {
	int64_t	 id;
	char	 code[19];
	int64_t	 creator_account_id;
	int64_t	 credits;
	char	 type[16];
	char	 target_email[321];	/* normalised: ASCII lower case, <= 320 bytes */
	int	 has_target;
	char	 message[2004];
	int	 has_message;
	char	 status[16];
	int64_t	 redeemed_by;
	int64_t	 created_at;
	int64_t	 redeemed_at;
};

/* A stored response of a POST with Idempotency-Key. */
struct db_idem {
	char	 hash[65];	/* hex SHA-256 of the request */
	int64_t	 status;
	char	*response;	/* malloc'd; free(3) */
	int64_t	 created_at;
};

/* One audit log entry. */
struct db_audit {
	char	 actor[404];
	char	 action[65];
	char	 target[1024];
	char	 details[4096];
	int64_t	 created_at;
};

/* One outbound event delivery (db/db_event.c). */
struct db_delivery {
	int64_t	 id;
	char	 event_id[41];
	char	 endpoint[65];
	char	 type[41];
	char	 data[16384];	/* the event's data object (JSON text) */
	int64_t	 created_at;	/* the event's time */
	int64_t	 queued_at;
	char	 status[17];
	int64_t	 attempts;
	int64_t	 next_attempt_at;
	int64_t	 last_attempt_at;	/* 0: none */
	int64_t	 last_status;		/* 0: no answer, or none yet */
	char	 last_error[2001];
	int64_t	 delivered_at;		/* 0: not delivered */
	int64_t	 resend_of;		/* 0: none */
};

/* Ledger kinds, as API.md names them. */
#define TX_PURCHASE		"purchase"
#define TX_USAGE		"usage"
#define TX_REFUND		"refund"
#define TX_GIFT_SENT		"gift_sent"
#define TX_GIFT_RECEIVED	"gift_received"
#define TX_GIFT_REFUND		"gift_refund"
#define TX_SUBSCRIPTION		"subscription"
#define TX_INVOICE_PAYMENT	"invoice_payment"
#define TX_ADJUSTMENT		"adjustment"
#define TX_GRANT		"grant"

/* Field limits, in characters, documented in API.md. */
#define LIMIT_USER_ID		255
#define LIMIT_EMAIL		320
#define LIMIT_OPERATION		100
#define LIMIT_DESCRIPTION	500
#define LIMIT_REASON		500
#define LIMIT_ACTOR		100
#define LIMIT_IDEM_KEY		255

/* A subscription row (db/db_sub.c reads and writes it). */
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
	/*
	 * The invoice whose payment activates a pending_activation one:
	 * read only for the user's own views (db_sub_get without lock,
	 * db_sub_list); 0 otherwise, or when not read.
	 */
	int64_t	 invoice_id;
};

/* A coupon (db/db_coupon.c). */
struct db_coupon {
	int64_t	 id;
	char	 code[33];
	char	 code_key[33];
	char	 name[804];		/* 200 characters; empty: none */
	int64_t	 percent_off;		/* 0: an amount_off coupon */
	int64_t	 amount_off;		/* 0: a percent_off coupon */
	char	 currency[4];
	char	 applies_to[4001];	/* empty: everything */
	char	 duration[16];
	int64_t	 duration_periods;	/* 0: none */
	int64_t	 max_redemptions;	/* -1: no limit */
	int64_t	 times_redeemed;
	int64_t	 expires_at;		/* 0: never */
	int	 active;
	char	 created_by[404];
	int64_t	 created_at;
	int64_t	 deactivated_at;	/* 0: active */
};

/* An account's redemption of a coupon, with the coupon. */
struct db_redemption {
	int64_t	 id;
	int64_t	 coupon_id;
	int64_t	 account_id;
	char	 target[16];		/* subscription, plans, purchase */
	int64_t	 subscription_id;	/* 0: none */
	char	 product[64];
	int64_t	 purchase_id;		/* 0: none */
	char	 status[16];		/* active, ended */
	int64_t	 periods_used;
	int64_t	 last_period;
	int64_t	 created_at;
	int64_t	 ended_at;		/* 0: still active */
	struct db_coupon coupon;
};

#define TX_BONUS		"bonus"
/* Operator views (db/db_admin.c): tally-admin and the metrics. */

/* An account whose balance is not the sum of its ledger. */
struct db_ledger_diff {
	int64_t	 account_id;
	char	 user_id[1021];
	int64_t	 balance;
	int64_t	 ledger_sum;
};

struct db_ledger_summary {
	int64_t	 accounts;
	int64_t	 balance_total;
	int64_t	 ledger_rows;
};

/* An outbox message as the operator sees it (no parameters). */
struct db_outbox_row {
	int64_t	 id;
	char	 dedupe_key[192];
	char	 template[33];
	char	 recipient[1284];
	char	 status[16];
	int64_t	 attempts;
	int64_t	 created_at;
	int64_t	 next_attempt_at;
	char	 last_error[2004];
};

/* The outbox backlog at one moment. */
struct db_outbox_stats {
	int64_t	 pending;		/* not sent yet, will be tried */
	int64_t	 pending_due;		/* of which due now */
	int64_t	 retrying;		/* of which tried and failed before */
	int64_t	 failed;		/* given up after the last attempt */
	int64_t	 oldest_pending_at;	/* 0: none pending */
};

/* One scheduler job's record, over every scheduler on the database. */
struct db_job_run {
	char	 job[65];
	int64_t	 runs, failures, skipped;
	int64_t	 total_ms, last_ms;
	int64_t	 last_started_at, last_ok_at;	/* 0: never */
	char	 last_error[1021];
};

/* A job's own count (charged, sent, ...) summed over its runs. */
struct db_job_count {
	char	 job[65];
	char	 name[65];
	int64_t	 total;
};

#endif
