// A QR code as an SVG element (one path of dark modules), drawn from
// qrcode-generator's matrix: no canvas, no data URL, no markup strings.
import { h } from './dom.js';

let lib; // the vendored module, loaded on first use

async function encoder() {
  if (lib === undefined) {
    try {
      lib = (await import('../vendor/qrcode.js')).default;
    } catch {
      lib = null; // not vendored: the page shows the text and the link only
    }
  }
  return lib;
}

// qrSvg('lightning:lnbc...', 'QR code ...') -> <svg> or null.
export async function qrSvg(text, label) {
  const qrcode = await encoder();
  if (!qrcode) return null;
  const qr = qrcode(0, 'M');
  // BOLT11 and its URI are case-insensitive: in upper case they fit the
  // compact alphanumeric mode (a smaller, easier to scan code).
  const upper = text.toUpperCase();
  if (/^[0-9A-Z $%*+\-./:]*$/.test(upper)) qr.addData(upper, 'Alphanumeric');
  else qr.addData(text, 'Byte');
  qr.make();
  const n = qr.getModuleCount();
  const quiet = 4;
  let d = '';
  for (let y = 0; y < n; y += 1) {
    for (let x = 0; x < n; x += 1) {
      if (qr.isDark(y, x)) d += `M${x + quiet} ${y + quiet}h1v1h-1z`;
    }
  }
  const size = n + 2 * quiet;
  return h('svg:svg', {
    class: 'qr', viewBox: `0 0 ${size} ${size}`, role: 'img', 'aria-label': label, 'shape-rendering': 'crispEdges',
  },
  h('svg:rect', { width: size, height: size, fill: '#fff' }),
  h('svg:path', { d, fill: '#000' }));
}
