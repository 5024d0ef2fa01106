// segments.js is the segment builder: conditions on a kind of record,
// combined with AND, with a live count and the first matches as they are
// edited, saved as a segment; and the saved segments with their counts.
import { api, h, quote, where, toast } from './api.js';
import { title } from './search.js';

const kinds = {
  contacts: { object: 'contact', fields: ['lifecycle', 'first_name', 'last_name', 'title', 'emails', 'tags', 'owner_id', 'lead_source', 'address.country', 'created_at'] },
  companies: { object: 'company', fields: ['industry', 'name', 'domain', 'employees', 'owner_id', 'tags', 'address.country', 'created_at'] },
  deals: { object: 'deal', fields: ['status', 'name', 'amount', 'owner_id', 'close_date', 'source', 'stage_id', 'created_at'] },
};
const ops = ['=', '!=', '>', '>=', '<', '<=', 'CONTAINS', 'STARTS WITH', 'IS SET'];
const numeric = new Set(['employees', 'amount']);
// Amounts are typed in whole currency units and filtered in minor units.
const minorUnits = new Set(['amount']);
const dates = new Set(['created_at', 'close_date', 'updated_at']);

export function segments() {
  const el = h('section', { class: 'segments-view' });
  const view = { el, kinds: ['contact', 'company', 'deal', 'segment'], refresh };
  let kind = 'contacts';
  let conds = [{ field: 'lifecycle', op: '=', value: 'customer' }];
  let timer = null;
  let seq = 0;

  const kindSelect = h('select', { name: 'kind', onchange: (e) => { kind = e.target.value; conds = [{ field: kinds[kind].fields[0], op: '=', value: '' }]; draw(); } },
    Object.keys(kinds).map((k) => h('option', { value: k }, k)));
  const rows = h('div', { class: 'conditions' });
  const filterText = h('code', { class: 'filter', 'data-testid': 'filter' });
  const count = h('output', { class: 'live-count', 'data-testid': 'live-count' }, '…');
  const preview = h('ul', { class: 'related preview' });
  const nameInput = h('input', { name: 'name', placeholder: 'Segment name' });
  const saved = h('table', { class: 'saved' });

  const builder = h('div', { class: 'builder' },
    h('h1', {}, 'Segments'),
    h('label', {}, 'Records ', kindSelect),
    rows,
    h('button', { class: 'link', onclick: () => { conds.push({ field: kinds[kind].fields[0], op: '=', value: '' }); draw(); } }, '+ condition'),
    h('p', {}, filterText),
    h('p', { class: 'big' }, count, ' match'),
    preview,
    h('form', { class: 'save', onsubmit: save }, nameInput, h('button', { type: 'submit' }, 'Save segment')));
  el.append(builder, h('div', {}, h('h2', {}, 'Saved segments'), saved));

  function filterOf() {
    return conds.filter((c) => c.field && (c.op === 'IS SET' || c.value !== '')).map((c) => {
      if (c.op === 'IS SET') return `${c.field} IS SET`;
      const n = Number(c.value) * (minorUnits.has(c.field) ? 100 : 1);
      const v = numeric.has(c.field) && !isNaN(n) ? Math.round(n)
        : dates.has(c.field) && /^\d{4}-\d{2}-\d{2}$/.test(c.value) ? c.value : quote(c.value);
      return `${c.field} ${c.op} ${v}`;
    }).join(' AND ');
  }

  function draw() {
    kindSelect.value = kind;
    rows.replaceChildren(...conds.map((c, i) => h('div', { class: 'condition' },
      h('select', { name: 'field', onchange: (e) => { c.field = e.target.value; changed(); } },
        kinds[kind].fields.map((f) => h('option', { value: f, selected: f === c.field }, f))),
      h('select', { name: 'op', onchange: (e) => { c.op = e.target.value; changed(); } },
        ops.map((o) => h('option', { value: o, selected: o === c.op }, o))),
      h('input', { name: 'value', value: c.value, oninput: (e) => { c.value = e.target.value; changed(); } }),
      h('button', { class: 'link', type: 'button', onclick: () => { conds.splice(i, 1); draw(); } }, '×'))));
    changed();
  }

  function changed() {
    clearTimeout(timer);
    timer = setTimeout(countNow, 150);
  }

  async function countNow() {
    const f = filterOf();
    filterText.textContent = f || '(every record)';
    const mine = ++seq;
    const q = f ? '&' + where(f) : '';
    try {
      const [n, page] = await Promise.all([api.get(`/${kind}/count?${q.slice(1)}`), api.get(`/${kind}?limit=10${q}`)]);
      if (mine !== seq) return;
      count.textContent = n.count;
      count.classList.remove('invalid');
      preview.replaceChildren(...page.items.map((r) => h('li', {}, h('a', { href: `#/${kind}/${r.id}` }, title(kinds[kind].object, r)))));
    } catch (e) {
      if (mine !== seq) return;
      count.textContent = '—';
      count.classList.add('invalid');
      preview.replaceChildren(h('li', { class: 'error' }, e.message));
    }
  }

  async function save(e) {
    e.preventDefault();
    try {
      await api.post('/segments', { name: nameInput.value, object: kinds[kind].object, filter: filterOf() });
      toast(`Saved ${nameInput.value}`);
      nameInput.value = '';
      await refresh();
    } catch (err) {
      toast(err.message, true);
    }
  }

  async function refresh() {
    const list = await api.get('/segments');
    const items = list.items || list;
    const counts = await Promise.all(items.map((s) => api.get(`/segments/${s.id}/count`).catch(() => ({ count: '—' }))));
    saved.replaceChildren(h('tr', {}, h('th', {}, 'Name'), h('th', {}, 'Of'), h('th', {}, 'Filter'), h('th', {}, 'Count')),
      ...items.map((s, i) => h('tr', { 'data-segment': s.name },
        h('td', {}, s.name), h('td', {}, s.object), h('td', {}, h('code', {}, s.filter || '')), h('td', { class: 'num' }, counts[i].count))));
    countNow();
  }

  draw();
  return view;
}
