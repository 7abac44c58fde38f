// What the sections share: the catalog, the latest balance and
// subscriptions, and a small event bus so that an action in one section
// refreshes the others ("wallet" after a payment, "subscriptions" after a
// change, "invoices" after an invoice was paid).
export const state = {
  catalog: null, // GET /catalog
  balance: null, // the latest known balance
  subscriptions: [], // GET /subscriptions
  methods: null, // GET /billing/payment-methods, when the server has it
};

const bus = new EventTarget();

export function emit(name, detail) {
  bus.dispatchEvent(new CustomEvent(name, { detail }));
}

export function on(name, fn) {
  bus.addEventListener(name, (e) => fn(e.detail));
}

// A product of the catalog by id.
export function product(id) {
  return state.catalog ? state.catalog.products.find((p) => p.id === id) : undefined;
}
