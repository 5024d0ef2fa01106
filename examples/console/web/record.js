// record.js is the page of one contact, company or deal: its fields, the
// records linked to it, its 360° timeline of activities and changes, and a
// form to log an activity on it.
import { api, h, money, quote, where, toast } from './api.js';
import { title } from './search.js';

const kindOf = { contacts: 'contact', companies: 'company', deals: 'deal' };
const linkKey = { contacts: 'contact_ids', companies: 'company_ids', deals: 'deal_ids' };

export function record(path, id) {
  const kind = kindOf[path];
  const el = h('section', { class: 'record-view' });
  const view = { el, kinds: ['contact', 'company', 'deal', 'activity'], refresh };

  async function refresh() {
    const r = await api.get(`/${path}/${id}`);
    const [timeline, related] = await Promise.all([
      api.get(`/${path}/${id}/timeline?limit=50`),
      relatedOf(r),
    ]);
    el.replaceChildren(
      h('div', { class: 'record-head' },
        h('span', { class: 'kind' }, kind),
        h('h1', { 'data-testid': 'record-title' }, title(kind, r)),
        h('dl', { class: 'fields' }, fields(r).map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]))),
      h('div', { class: 'record-body' },
        h('div', { class: 'side' }, related),
        h('div', { class: 'main' }, logForm(r), h('h2', {}, 'Timeline'),
          h('ol', { class: 'timeline', 'data-testid': 'timeline' }, timeline.items.map(entry)))));
  }

  function fields(r) {
    const f = [];
    const add = (k, v) => { if (v !== undefined && v !== null && v !== '' && !(Array.isArray(v) && !v.length)) f.push([k, v]); };
    if (kind === 'contact') {
      add('Title', r.title);
      add('Email', (r.emails || []).join(', '));
      add('Phone', (r.phones || []).map((p) => p.number || p.e164 || '').join(', '));
      add('Lifecycle', r.lifecycle);
      add('Tags', (r.tags || []).join(', '));
    } else if (kind === 'company') {
      add('Domain', r.domain);
      add('Industry', r.industry);
      add('Employees', r.employees);
    } else {
      add('Amount', r.amount ? money(r.amount.amount, r.amount.currency) : '');
      add('Status', r.status);
      add('Close date', r.close_date);
      add('Lost because', r.lost_reason);
    }
    add('Owner', r.owner_id);
    add('Updated', new Date(r.updated_at).toLocaleString());
    return f;
  }

  async function relatedOf(r) {
    const parts = [];
    const list = (heading, items, path2, label) => parts.push(h('h2', {}, heading),
      items.length ? h('ul', { class: 'related' }, items.map((x) => h('li', {}, h('a', { href: `#/${path2}/${x.id}` }, label(x)))))
        : h('p', { class: 'muted' }, 'None you can see.'));
    const dealLabel = (d) => [d.name, h('span', { class: `status ${d.status}` }, ' ', d.status)];
    if (kind === 'contact') {
      const deals = await api.get(`/deals?limit=20&${where(`contact_ids CONTAINS ${quote(id)}`)}`);
      const companies = await Promise.all((r.companies || []).map((c) => api.get(`/companies/${c.company_id}`).catch(() => null)));
      list('Companies', companies.filter(Boolean), 'companies', (c) => c.name);
      list('Deals', deals.items, 'deals', dealLabel);
    } else if (kind === 'company') {
      const [contacts, deals] = await Promise.all([
        api.get(`/contacts?limit=20&${where(`company_ids CONTAINS ${quote(id)}`)}`),
        api.get(`/deals?limit=20&${where(`company_id = ${quote(id)}`)}`),
      ]);
      list('Contacts', contacts.items, 'contacts', (c) => title('contact', c));
      list('Deals', deals.items, 'deals', dealLabel);
    } else {
      const company = r.company_id ? await api.get(`/companies/${r.company_id}`).catch(() => null) : null;
      const contacts = await Promise.all((r.contacts || []).map((c) => api.get(`/contacts/${c.contact_id}`).catch(() => null)));
      list('Company', company ? [company] : [], 'companies', (c) => c.name);
      list('Contacts', contacts.filter(Boolean), 'contacts', (c) => title('contact', c));
    }
    return parts;
  }

  function logForm(r) {
    const type = h('select', { name: 'type' }, ['note', 'call', 'email', 'meeting'].map((t) => h('option', { value: t }, t)));
    const subject = h('input', { name: 'subject', placeholder: 'What happened?', required: true });
    const form = h('form', { class: 'log', 'data-testid': 'log-form' }, type, subject, h('button', { type: 'submit' }, 'Log'));
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      try {
        await api.post('/activities', { type: type.value, subject: subject.value, [linkKey[path]]: [r.id] });
        subject.value = '';
        await refresh();
      } catch (err) {
        toast(err.message, true);
      }
    });
    return form;
  }

  return view;
}

function entry(e) {
  const at = h('time', { datetime: e.at }, new Date(e.at).toLocaleString());
  if (e.activity) {
    const a = e.activity;
    return h('li', { class: 'activity' }, h('span', { class: 'kind' }, a.type), ' ', h('b', {}, a.subject || a.body || ''), ' ', at);
  }
  const c = e.change;
  const fields = (c.fields || []).map((f) => f.field || f.name).filter(Boolean);
  return h('li', { class: 'change' }, h('span', { class: 'kind' }, c.op), ' ',
    fields.length ? fields.join(', ') : c.kind, c.actor ? h('span', { class: 'muted' }, ' by ' + c.actor) : null, ' ', at);
}
