/* The route table and its lookup. */
#include <stdio.h>
#include <string.h>

#include "fcgi/handlers.h"
#include "fcgi/router.h"

static const struct route routes[] = {
	{ "GET", "/health", AUTH_NONE, BODY_NONE, h_health },
	{ "GET", "/catalog", AUTH_NONE, BODY_NONE, h_catalog },
	{ "GET", "/credits/packages", AUTH_NONE, BODY_NONE, h_packages },

	{ "GET", "/credits/balance", AUTH_USER, BODY_NONE, h_credits_balance },
	{ "POST", "/credits/use", AUTH_TOKEN, BODY_JSON, h_credits_use },
	{ "GET", "/credits/transactions", AUTH_USER, BODY_NONE,
	    h_credits_transactions },
	{ "GET", "/credits/usage", AUTH_USER, BODY_NONE, h_credits_usage },
	{ "GET", "/usage", AUTH_TOKEN, BODY_NONE, h_usage },
	{ "GET", "/credits/purchases", AUTH_USER, BODY_NONE,
	    h_credits_purchases },
	{ "POST", "/credits/purchase", AUTH_USER, BODY_JSON,
	    h_credits_purchase_create },
	{ "GET", "/credits/purchase/{id}", AUTH_USER, BODY_NONE,
	    h_credits_purchase_get },

	{ "GET", "/subscriptions", AUTH_USER, BODY_NONE, h_subscriptions_list },
	{ "GET", "/subscriptions/{product}", AUTH_USER, BODY_NONE,
	    h_subscription_get },
	{ "POST", "/subscriptions/{product}/activate", AUTH_TOKEN, BODY_JSON,
	    h_subscription_activate },
	{ "POST", "/subscriptions/{product}/deactivate", AUTH_USER, BODY_NONE,
	    h_subscription_deactivate },
	{ "POST", "/subscriptions/{product}/change-interval", AUTH_USER,
	    BODY_JSON, h_subscription_change_interval },
	{ "GET", "/entitlements", AUTH_USER, BODY_NONE, h_entitlements },

	{ "GET", "/billing/payment-methods", AUTH_USER, BODY_NONE,
	    h_billing_methods },
	{ "POST", "/billing/card-setup", AUTH_USER, BODY_NONE,
	    h_billing_card_setup },
	{ "DELETE", "/billing/card", AUTH_USER, BODY_NONE,
	    h_billing_card_delete },
	{ "PUT", "/billing/nwc", AUTH_USER, BODY_JSON, h_billing_nwc_put },
	{ "DELETE", "/billing/nwc", AUTH_USER, BODY_NONE,
	    h_billing_nwc_delete },

	{ "POST", "/webhooks/stripe", AUTH_NONE, BODY_RAW, h_webhook_stripe },
	{ "POST", "/webhooks/lightning", AUTH_NONE, BODY_RAW,
	    h_webhook_lightning },

	{ "GET", "/invoices", AUTH_USER, BODY_NONE, h_invoices_list },
	{ "GET", "/invoices/{id}", AUTH_USER, BODY_NONE, h_invoice_get },
	{ "GET", "/invoices/{id}/document", AUTH_USER_QUERY, BODY_NONE,
	    h_invoice_document },
	{ "POST", "/invoices/{id}/pay", AUTH_USER, BODY_JSON, h_invoice_pay },
	{ "POST", "/invoices/{id}/reissue", AUTH_USER, BODY_NONE,
	    h_invoice_reissue },
	{ "POST", "/admin/invoices/{id}/mark-paid", AUTH_ADMIN, BODY_JSON,
	    h_admin_mark_paid },
	{ "POST", "/internal/activity", AUTH_SERVICE, BODY_JSON,
	    h_internal_activity },

	{ "POST", "/gifts", AUTH_USER, BODY_JSON, h_gift_create },
	{ "GET", "/gifts/me/created", AUTH_USER, BODY_NONE, h_gifts_created },
	{ "GET", "/gifts/me/received", AUTH_USER, BODY_NONE, h_gifts_received },
	{ "GET", "/gifts/{code}", AUTH_NONE, BODY_NONE, h_gift_public },
	{ "POST", "/gifts/{code}/redeem", AUTH_USER, BODY_NONE, h_gift_redeem },
	{ "DELETE", "/gifts/{id}", AUTH_USER, BODY_NONE, h_gift_cancel },
	{ "POST", "/internal/gifts/redeem-pending", AUTH_SERVICE, BODY_JSON,
	    h_internal_redeem_pending },

	{ "GET", "/internal/subscriptions/{product}/status/{user}",
	    AUTH_SERVICE, BODY_NONE, h_internal_sub_status },
	{ "POST", "/internal/subscriptions/charge-recurring", AUTH_SERVICE,
	    BODY_NONE, h_internal_charge_recurring },

	{ "GET", "/internal/credits/balance/{user}", AUTH_SERVICE, BODY_NONE,
	    h_internal_balance },
	{ "GET", "/internal/usage/{user}", AUTH_SERVICE, BODY_NONE,
	    h_internal_usage },
	{ "POST", "/internal/usage/record", AUTH_SERVICE, BODY_JSON,
	    h_internal_usage_record },
	{ "POST", "/internal/credits/use", AUTH_SERVICE, BODY_JSON,
	    h_internal_use },
	{ "POST", "/internal/credits/refund", AUTH_SERVICE, BODY_JSON,
	    h_internal_refund },
	{ "POST", "/internal/credits/init", AUTH_SERVICE, BODY_JSON,
	    h_internal_init },

	{ "POST", "/coupons/apply", AUTH_USER, BODY_JSON, h_coupon_apply },
	{ "GET", "/coupons", AUTH_USER, BODY_NONE, h_coupons_mine },
	{ "POST", "/admin/coupons", AUTH_ADMIN, BODY_JSON,
	    h_admin_coupon_create },
	{ "GET", "/admin/coupons", AUTH_ADMIN, BODY_NONE,
	    h_admin_coupons_list },
	{ "GET", "/admin/coupons/{id}", AUTH_ADMIN, BODY_NONE,
	    h_admin_coupon_get },
	{ "POST", "/admin/coupons/{id}/deactivate", AUTH_ADMIN, BODY_NONE,
	    h_admin_coupon_deactivate },

	{ "POST", "/admin/credits/adjust", AUTH_ADMIN, BODY_JSON,
	    h_admin_adjust },
	{ "GET", "/admin/audit", AUTH_ADMIN, BODY_NONE, h_admin_audit },
	{ "GET", "/admin/usage", AUTH_ADMIN, BODY_NONE, h_admin_usage },
	{ "GET", "/admin/metrics", AUTH_ADMIN, BODY_NONE, h_admin_metrics },
	{ "GET", "/admin/webhooks/deliveries", AUTH_ADMIN, BODY_NONE,
	    h_admin_deliveries },
	{ "POST", "/admin/webhooks/deliveries/{id}/resend", AUTH_ADMIN,
	    BODY_NONE, h_admin_delivery_resend },
};

#define NROUTES (sizeof(routes) / sizeof(routes[0]))

size_t
router_count(void)
{
	return NROUTES;
}

const struct route *
router_at(size_t i)
{
	return i < NROUTES ? &routes[i] : NULL;
}

const struct route *
router_find(const char *method, const char *path,
    struct core_route_caps *caps, char *allow, size_t allowsz, int *status)
{
	struct core_route_caps tmp;
	size_t		 i, used = 0;
	int		 n;

	allow[0] = '\0';
	for (i = 0; i < NROUTES; i++)
		if (strcmp(routes[i].method, method) == 0 &&
		    core_route_match(routes[i].pattern, path, caps))
			return &routes[i];
	for (i = 0; i < NROUTES; i++) {
		if (!core_route_match(routes[i].pattern, path, &tmp) ||
		    strstr(allow, routes[i].method) != NULL)
			continue;
		n = snprintf(allow + used, allowsz - used, "%s%s",
		    used ? ", " : "", routes[i].method);
		if (n > 0 && (size_t)n < allowsz - used)
			used += (size_t)n;
	}
	*status = used > 0 ? 405 : 404;
	return NULL;
}
