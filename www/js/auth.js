// The user's token: handed over in the URL fragment (/#token=JWT), kept in
// sessionStorage (this tab only), and removed from the address bar and the
// tab's history at once.
const KEY = 'tally.token';

function store() {
  try { return window.sessionStorage; } catch { return null; }
}

let memory = null; // when sessionStorage is unavailable

// Move a #token=... from the URL into sessionStorage.  Other fragment
// parameters (none are defined) are kept.
export function takeTokenFromUrl() {
  if (!location.hash.startsWith('#')) return;
  const params = new URLSearchParams(location.hash.slice(1));
  const tok = params.get('token');
  if (tok === null) return;
  params.delete('token');
  const rest = params.toString();
  // replaceState: the entry with the token is overwritten, not kept behind.
  history.replaceState(history.state, '', location.pathname + location.search + (rest ? `#${rest}` : ''));
  if (!tok) return;
  memory = tok;
  const s = store();
  if (s) s.setItem(KEY, tok);
}

export function token() {
  const s = store();
  return (s && s.getItem(KEY)) || memory;
}

export function forget() {
  memory = null;
  const s = store();
  if (s) s.removeItem(KEY);
}

// The token's claims (not verified here: the API does that), or null.
export function claims() {
  const tok = token();
  if (!tok) return null;
  const parts = tok.split('.');
  if (parts.length !== 3) return null;
  try {
    const b64 = parts[1].replace(/-/g, '+').replace(/_/g, '/');
    const bin = atob(b64 + '='.repeat((4 - (b64.length % 4)) % 4));
    const json = new TextDecoder().decode(Uint8Array.from(bin, (c) => c.charCodeAt(0)));
    const c = JSON.parse(json);
    return c && typeof c === 'object' ? c : null;
  } catch {
    return null;
  }
}

// Milliseconds until the token expires (negative: expired), or null.
export function msLeft() {
  const c = claims();
  if (!c || typeof c.exp !== 'number') return null;
  return c.exp * 1000 - Date.now();
}
