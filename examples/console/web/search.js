// search.js is the header's search box: results as you type, across
// contacts, companies and deals, from GET /api/search.
import { api, h } from './api.js';

const paths = { contact: 'contacts', company: 'companies', deal: 'deals' };

export function initSearch() {
  const input = document.getElementById('search');
  const list = document.getElementById('search-results');
  if (input.dataset.ready) return;
  input.dataset.ready = '1';
  let timer = null;
  let seq = 0;
  input.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(run, 120);
  });
  input.addEventListener('keydown', (e) => {
    if (e.key === 'Escape') close();
    if (e.key === 'Enter') list.querySelector('a')?.click();
  });
  document.addEventListener('click', (e) => { if (!e.target.closest('.search')) close(); });

  async function run() {
    const q = input.value.trim();
    const mine = ++seq;
    if (!q) { close(); return; }
    const res = await api.get('/search?limit=8&q=' + encodeURIComponent(q));
    if (mine !== seq) return; // a newer query is on its way
    list.replaceChildren(...(res.items.length ? res.items.map(item) : [h('li', { class: 'muted' }, 'No match')]));
    list.hidden = false;
  }
  function item(hit) {
    return h('li', {}, h('a', { href: `#/${paths[hit.kind]}/${hit.id}`, 'data-kind': hit.kind, onclick: close },
      h('span', { class: 'kind' }, hit.kind), ' ', title(hit.kind, hit.record)));
  }
  function close(e) {
    list.hidden = true;
    if (e?.type === 'click' && e.target.closest('#search-results')) input.value = '';
  }
}

// title names a record for people.
export function title(kind, r) {
  if (kind === 'contact') return [r.first_name, r.last_name].filter(Boolean).join(' ') || r.emails?.[0] || r.id;
  return r.name || r.id;
}
