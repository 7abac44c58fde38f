/* Route handlers, one file per resource (h_*.c). */
#ifndef FCGI_HANDLERS_H
#define FCGI_HANDLERS_H

struct http_req;

/* h_public.c */
void	 h_health(struct http_req *);
void	 h_catalog(struct http_req *);
void	 h_packages(struct http_req *);

/* h_credits.c */
void	 h_credits_balance(struct http_req *);
void	 h_credits_use(struct http_req *);
void	 h_credits_transactions(struct http_req *);
void	 h_credits_purchases(struct http_req *);
void	 h_credits_purchase_get(struct http_req *);
void	 h_credits_usage(struct http_req *);
void	 h_usage(struct http_req *);
void	 h_internal_usage(struct http_req *);
void	 h_internal_usage_record(struct http_req *);
void	 h_admin_usage(struct http_req *);
void	 h_credits_purchase_create(struct http_req *);
void	 h_internal_balance(struct http_req *);
void	 h_internal_use(struct http_req *);
void	 h_internal_refund(struct http_req *);
void	 h_internal_init(struct http_req *);

/* h_subscriptions.c */
void	 h_subscriptions_list(struct http_req *);
void	 h_subscription_get(struct http_req *);
void	 h_subscription_activate(struct http_req *);
void	 h_subscription_deactivate(struct http_req *);
void	 h_subscription_change_interval(struct http_req *);
void	 h_entitlements(struct http_req *);
void	 h_internal_sub_status(struct http_req *);
void	 h_internal_charge_recurring(struct http_req *);

/* h_gifts.c */
void	 h_gift_create(struct http_req *);
void	 h_gift_public(struct http_req *);
void	 h_gifts_created(struct http_req *);
void	 h_gifts_received(struct http_req *);
void	 h_gift_redeem(struct http_req *);
void	 h_gift_cancel(struct http_req *);
void	 h_internal_redeem_pending(struct http_req *);

/* h_billing.c */
void	 h_billing_methods(struct http_req *);
void	 h_billing_card_setup(struct http_req *);
void	 h_billing_card_delete(struct http_req *);
void	 h_billing_nwc_put(struct http_req *);
void	 h_billing_nwc_delete(struct http_req *);

/* h_webhooks.c */
void	 h_webhook_stripe(struct http_req *);
void	 h_webhook_lightning(struct http_req *);

/* h_lightning.c */
struct core_package;
void	 h_lightning_purchase(struct http_req *, const struct core_package *,
	    const char *coupon);

/* h_invoices.c */
void	 h_invoices_list(struct http_req *);
void	 h_invoice_get(struct http_req *);
void	 h_invoice_document(struct http_req *);
void	 h_invoice_pay(struct http_req *);
void	 h_invoice_reissue(struct http_req *);
void	 h_admin_mark_paid(struct http_req *);
void	 h_internal_activity(struct http_req *);

/* h_coupons.c */
void	 h_admin_coupon_create(struct http_req *);
void	 h_admin_coupons_list(struct http_req *);
void	 h_admin_coupon_get(struct http_req *);
void	 h_admin_coupon_deactivate(struct http_req *);
void	 h_coupon_apply(struct http_req *);
void	 h_coupons_mine(struct http_req *);

/* h_admin.c */
void	 h_admin_adjust(struct http_req *);
void	 h_admin_audit(struct http_req *);
/* h_metrics.c */
void	 h_admin_metrics(struct http_req *);
void	 h_admin_deliveries(struct http_req *);
void	 h_admin_delivery_resend(struct http_req *);

#endif
