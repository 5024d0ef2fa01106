// board.js is the pipeline board: a column per stage with its deals, their
// count and their total and weighted amounts, and stage moves by dragging
// a card to another column.
import { api, h, money, quote, where, toast } from './api.js';

const CARDS = 200; // cards shown per column

export function board() {
  const el = h('section', { class: 'board-view' });
  const view = { el, kinds: ['deal', 'pipeline'], refresh };
  let pipelines = [];
  let pipelineID = null;

  async function refresh() {
    pipelines = (await api.get('/pipelines')).items;
    if (!pipelines.length) {
      el.replaceChildren(h('p', { class: 'muted' }, 'No pipeline yet.'));
      return;
    }
    if (!pipelines.some((p) => p.id === pipelineID)) pipelineID = pipelines[0].id;
    const p = pipelines.find((x) => x.id === pipelineID);
    const inStage = (s) => `pipeline_id = ${quote(p.id)} AND stage_id = ${quote(s.id)}`;
    const [pages, counts, totals] = await Promise.all([
      Promise.all(p.stages.map((s) => api.get(`/deals?limit=${CARDS}&${where(inStage(s))}`))),
      Promise.all(p.stages.map((s) => api.get(`/deals/count?${where(inStage(s))}`))),
      api.get(`/reports/pipeline?format=json&group=stage&pipeline=${encodeURIComponent(p.id)}`),
    ]);
    const sums = {};
    for (const row of totals.rows || []) {
      const t = (sums[row.stage_id] ||= { amount: 0, weighted: 0, currency: row.currency || 'USD' });
      t.amount += row.amount;
      t.weighted += row.weighted;
    }
    const head = h('div', { class: 'board-head' },
      h('h1', {}, 'Pipeline'),
      pipelines.length > 1 ? h('select', { onchange: (e) => { pipelineID = e.target.value; refresh(); } },
        pipelines.map((x) => h('option', { value: x.id, selected: x.id === p.id }, x.name))) : h('span', { class: 'muted' }, p.name));
    const cols = p.stages.map((s, i) => column(s, pages[i].items, counts[i].count, sums[s.id]));
    el.replaceChildren(head, h('div', { class: 'board' }, cols));
  }

  function column(stage, deals, count, sum) {
    const figures = stage.kind === 'open' && sum
      ? h('div', { class: 'figures' }, money(sum.amount, sum.currency), ' · weighted ', h('b', { 'data-testid': 'weighted' }, money(sum.weighted, sum.currency)))
      : h('div', { class: 'figures muted' }, stage.kind === 'open' ? 'no amounts' : stage.kind);
    return h('div', { class: `column ${stage.kind}`, 'data-stage': stage.id, 'data-stage-name': stage.name },
      h('div', { class: 'column-head' },
        h('h2', {}, stage.name, ' ', h('span', { class: 'count', 'data-testid': 'count' }, count)),
        h('div', { class: 'muted' }, stage.probability + '%'),
        figures),
      h('div', { class: 'cards' }, deals.map(card),
        count > deals.length ? h('p', { class: 'muted more' }, `and ${count - deals.length} more`) : null));
  }

  function card(d) {
    const c = h('div', { class: 'card', 'data-deal': d.id, 'data-version': d.version },
      h('div', { class: 'name' }, d.name),
      h('div', { class: 'meta' },
        d.amount ? money(d.amount.amount, d.amount.currency) : '', ' ',
        h('span', { class: 'owner' }, d.owner_id || ''),
        d.close_date ? h('span', { class: 'muted' }, ' · ' + d.close_date) : null));
    draggable(c, d);
    return c;
  }

  // draggable moves a card with the pointer (mouse, pen or touch) and, when
  // it is dropped on another column, moves the deal to that stage.
  function draggable(c, d) {
    c.addEventListener('pointerdown', (down) => {
      if (down.button !== 0) return;
      const from = c.closest('.column');
      const rect = c.getBoundingClientRect();
      let dragging = false;
      let over = null;
      const move = (e) => {
        if (!dragging && Math.hypot(e.clientX - down.clientX, e.clientY - down.clientY) < 4) return;
        if (!dragging) {
          dragging = true;
          c.classList.add('dragging');
          c.style.width = rect.width + 'px';
        }
        c.style.left = (e.clientX - (down.clientX - rect.left)) + 'px';
        c.style.top = (e.clientY - (down.clientY - rect.top)) + 'px';
        const col = document.elementFromPoint(e.clientX, e.clientY)?.closest('.column');
        if (col !== over) {
          over?.classList.remove('drop');
          over = col;
          if (over && over !== from) over.classList.add('drop');
        }
      };
      const up = async () => {
        window.removeEventListener('pointermove', move);
        window.removeEventListener('pointerup', up);
        over?.classList.remove('drop');
        if (!dragging) {
          open(d);
          return;
        }
        c.classList.remove('dragging');
        c.removeAttribute('style');
        if (!over || over === from) return;
        c.classList.add('pending'); // until the board is read again
        over.querySelector('.cards').prepend(c);
        try {
          await moveDeal(d, over.dataset.stage, over.dataset.stageName);
        } catch (e) {
          toast(`${d.name}: ${e.message}`, true);
        }
        await refresh();
      };
      window.addEventListener('pointermove', move);
      window.addEventListener('pointerup', up);
    });
  }

  function open(d) {
    location.hash = d.contacts?.length ? `#/contacts/${d.contacts[0].contact_id}` : `#/deals/${d.id}`;
  }

  async function moveDeal(d, stageID, stageName) {
    const p = pipelines.find((x) => x.id === pipelineID);
    const stage = p.stages.find((s) => s.id === stageID);
    const ifMatch = { 'If-Match': `"${d.version}"` };
    if (stage.kind === 'won') return api.post(`/deals/${d.id}/win`, undefined, ifMatch);
    if (stage.kind === 'lost') return api.post(`/deals/${d.id}/lose`, { reason: 'marked lost on the board' }, ifMatch);
    const moved = await api.post(`/deals/${d.id}/move`, { stage: stageID }, ifMatch);
    toast(`${d.name} moved to ${stageName}`);
    return moved;
  }

  return view;
}
