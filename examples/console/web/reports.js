// reports.js shows the pipeline, forecast and conversion reports: their
// charts (SVG from the API) and their main figures, as the logged-in user
// may see them.
import { api, h, money, request } from './api.js';

export function reports() {
  const el = h('section', { class: 'reports-view' });
  const view = { el, kinds: ['deal'], refresh };
  const urls = [];

  async function svg(path) {
    const text = await request('GET', '/api' + path);
    const url = URL.createObjectURL(new Blob([text], { type: 'image/svg+xml' }));
    urls.push(url);
    return h('img', { src: url, alt: '' });
  }

  // The forecast covers the quarter of today.
  const now = new Date();
  const q = Math.floor(now.getMonth() / 3);
  const day = (y, m) => new Date(Date.UTC(y, m, 1)).toISOString().slice(0, 10);
  const period = `from=${day(now.getFullYear(), 3 * q)}&to=${day(now.getFullYear(), 3 * q + 3)}`;

  async function refresh() {
    const old = urls.splice(0); // the charts on screen, revoked once replaced
    const [pipe, forecast, conv] = await Promise.all([
      api.get('/reports/pipeline?format=json&group=stage'),
      api.get(`/reports/forecast?format=json&${period}`),
      api.get('/reports/conversion?format=json'),
    ]);
    const [pipeChart, forecastChart, convChart] = await Promise.all([
      svg('/reports/pipeline?format=svg&group=stage'),
      svg(`/reports/forecast?format=svg&${period}`),
      svg('/reports/conversion?format=svg'),
    ]);
    const open = pipe.rows.reduce((t, r) => ({ count: t.count + r.count, amount: t.amount + r.amount, weighted: t.weighted + r.weighted }), { count: 0, amount: 0, weighted: 0 });
    const fc = forecast.rows.filter((r) => !r.team);
    const sum = (k) => fc.reduce((t, r) => t + r[k], 0);
    const groups = conv.groups || [];
    const won = groups.reduce((t, g) => t + g.won, 0);
    const lost = groups.reduce((t, g) => t + g.lost, 0);
    el.replaceChildren(
      h('h1', {}, 'Reports'),
      h('div', { class: 'reports' },
        h('article', { 'data-report': 'pipeline' }, h('h2', {}, 'Open pipeline'),
          h('p', {}, h('b', { 'data-testid': 'open-deals' }, open.count), ' open deals worth ', money(open.amount), ', weighted ', money(open.weighted)),
          pipeChart),
        h('article', { 'data-report': 'forecast' }, h('h2', {}, 'Forecast, this quarter'),
          h('p', {}, 'Closed won ', money(sum('closed_won')), ' · forecast ', money(sum('forecast')), ' · best case ', money(sum('best_case'))),
          forecastChart),
        h('article', { 'data-report': 'conversion' }, h('h2', {}, 'Conversion'),
          h('p', {}, won, ' won, ', lost, ' lost · win rate ', h('b', { 'data-testid': 'win-rate' }, won + lost ? Math.round((100 * won) / (won + lost)) + '%' : '—')),
          convChart)));
    old.forEach((u) => URL.revokeObjectURL(u));
  }

  view.dispose = () => urls.splice(0).forEach((u) => URL.revokeObjectURL(u));
  return view;
}
