// The banner at the top: a paused or expired subscription, why, and the
// way out (top up, then reactivate).
import { h, fill } from '../dom.js';
import { t, onLangChange } from '../i18n.js';
import { date } from '../format.js';
import { state, on, product } from '../state.js';

let root;
let focusTopUp = () => {};

export function mount(el, ctx) {
  root = el;
  focusTopUp = ctx.focusTopUp;
  on('subscriptions-loaded', render);
  onLangChange(render);
  render();
}

function render() {
  const troubled = state.subscriptions.filter((s) => s.status === 'paused' || s.status === 'expired');
  if (troubled.length === 0) {
    root.replaceChildren();
    return;
  }
  fill(root, h('section', { class: 'banner', id: 'pause-banner', 'aria-labelledby': 'banner-h' },
    h('h2', { id: 'banner-h', text: t(troubled.length === 1 ? 'banner.titleOne' : 'banner.titleMany') }),
    h('ul', { class: 'banner-list' }, troubled.map((s) => {
      const p = product(s.product);
      const name = p ? p.name : s.product;
      const text = s.status === 'paused'
        ? t('banner.paused', { name, date: date(s.paused_at || s.current_period_end) })
        : t(p && p.billing === 'invoice' ? 'banner.expiredInvoice' : 'banner.expired', { name, date: date(s.current_period_end) });
      return h('li', { text });
    })),
    // Every paused one reactivates by itself on a top-up (and none expired).
    h('p', { text: t(troubled.every((s) => s.status === 'paused' && s.reactivates_on_topup) ? 'banner.howtoAuto' : 'banner.howto') }),
    h('div', { class: 'actions' },
      h('button', { type: 'button', class: 'btn', id: 'banner-topup', i18n: 'banner.topup', onclick: () => focusTopUp() }),
      h('a', { class: 'btn btn-secondary', href: '#subscriptions', i18n: 'banner.toSubs' }))));
}
