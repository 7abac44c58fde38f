// The Lightning payment dialog, for a credit purchase or an invoice: the
// BOLT11 invoice as a QR code, a copy button, a lightning: link, the expiry
// countdown, and polling until the payment settles (or expires).
import { h, fill, copyText, messageOf, statusSlot, errorSlot } from './dom.js';
import { t } from './i18n.js';
import { countdown } from './format.js';
import { qrSvg } from './qr.js';

const POLL_MS = 2000;
let active = null;

function dialog() {
  return document.getElementById('pay-dialog');
}

/*
 * openLightning({
 *   what,        text: what is being paid ("500 credits for €5.00")
 *   bolt11, checkoutUrl, expiresAt,
 *   check,       async () => 'pending' | 'paid' | 'expired' | 'failed'
 *   paidText,    text shown when it settled
 *   onSettled,   (outcome) => void, once
 * })
 */
export function openLightning(opts) {
  if (active) active.stop();
  const dlg = dialog();
  const uri = `lightning:${opts.bolt11}`;
  const status = statusSlot();
  const error = errorSlot();
  const field = h('textarea', {
    id: 'ln-bolt11', class: 'mono bolt11', readonly: true, rows: 4, spellcheck: 'false', autocomplete: 'off',
  });
  field.value = opts.bolt11;
  const copied = h('span', { class: 'hint', role: 'status' });
  const copyBtn = h('button', {
    type: 'button', class: 'btn', autofocus: true, i18n: 'ln.copy',
    onclick: async () => {
      copied.textContent = (await copyText(opts.bolt11, field)) ? t('ln.copied') : t('ln.copyManual');
    },
  });
  const qrBox = h('div', { class: 'qr-box' });
  const expiry = h('p', { class: 'expiry' });
  const body = h('div', { class: 'ln-grid' },
    qrBox,
    h('div', { class: 'ln-text' },
      h('label', { for: 'ln-bolt11', i18n: 'ln.invoice' }),
      field,
      h('div', { class: 'actions' },
        copyBtn,
        h('a', { class: 'btn btn-secondary', href: uri, i18n: 'ln.openWallet' })),
      copied,
      opts.checkoutUrl ? h('p', { class: 'hint' },
        h('a', { href: opts.checkoutUrl, target: '_blank', rel: 'noopener noreferrer', i18n: 'ln.checkout' })) : null,
      expiry));
  const closeBtn = h('button', { type: 'button', class: 'btn btn-secondary', i18n: 'dialog.close', onclick: () => dlg.close() });
  fill(dlg, h('div', { class: 'dialog-body' },
    h('h2', { id: 'pay-h', i18n: 'ln.title' }),
    h('p', { class: 'pay-what', text: opts.what }),
    body,
    status,
    error,
    h('div', { class: 'dialog-actions' }, closeBtn)));

  qrSvg(uri, t('ln.qrLabel')).then((svg) => {
    if (svg) fill(qrBox, svg);
    else qrBox.hidden = true;
  });

  const expires = Date.parse(opts.expiresAt);
  let done = false;
  let pollTimer = 0;
  const tick = () => {
    if (Number.isNaN(expires)) { expiry.textContent = ''; return; }
    const left = expires - Date.now();
    expiry.textContent = left > 0 ? t('ln.expiresIn', { time: countdown(left) }) : t('ln.expiredLocal');
  };
  tick();
  const clock = setInterval(tick, 1000);
  status.className = 'info';
  status.textContent = t('ln.waiting');

  const stop = () => {
    done = true;
    clearInterval(clock);
    clearTimeout(pollTimer);
    if (active && active.stop === stop) active = null;
  };

  const finish = (outcome) => {
    stop();
    error.textContent = '';
    if (outcome === 'paid') {
      fill(body, h('p', { class: 'success-mark', 'aria-hidden': 'true', text: '\u2713' }));
      body.classList.add('settled');
      status.className = 'status plain';
      status.textContent = opts.paidText || t('ln.paid');
      closeBtn.className = 'btn';
    } else {
      expiry.textContent = '';
      body.hidden = true;
      status.className = 'error';
      status.textContent = outcome === 'expired' ? t('ln.expired') : t('ln.failed');
    }
    closeBtn.focus();
    if (opts.onSettled) opts.onSettled(outcome);
  };

  const poll = async () => {
    if (done) return;
    let outcome = 'pending';
    try {
      outcome = await opts.check();
      error.textContent = '';
    } catch (err) {
      // A hiccup while waiting is shown, and the waiting goes on.
      error.textContent = messageOf(err);
      if (err.status === 401) { stop(); return; }
    }
    if (done) return;
    if (outcome === 'pending') pollTimer = setTimeout(poll, POLL_MS);
    else finish(outcome);
  };
  pollTimer = setTimeout(poll, POLL_MS);

  dlg.addEventListener('close', () => {
    const wasDone = done;
    stop();
    if (!wasDone && opts.onClose) opts.onClose();
  }, { once: true });
  dlg.showModal();
  active = { stop };
  return active;
}

// Close the payment dialog if it is open (when the session has ended).
export function closePayDialog() {
  const dlg = dialog();
  if (dlg.open) dlg.close();
}
