// api.js talks to the CRM's HTTP API mounted under /api/ and to the
// console's log-in under /session.

// ApiError is a failed request: its status and the API's problem details.
export class ApiError extends Error {
  constructor(status, problem) {
    super(problem?.detail || problem?.title || `request failed with ${status}`);
    this.status = status;
    this.problem = problem;
  }
}

// request sends a JSON request and answers the JSON response (null for
// none); a problem answer throws an ApiError.
export async function request(method, path, body, headers = {}) {
  const init = { method, headers: { ...headers }, credentials: 'same-origin' };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const res = await fetch(path, init);
  if (!res.ok) {
    let problem = null;
    try { problem = await res.json(); } catch { /* not JSON */ }
    throw new ApiError(res.status, problem);
  }
  if (res.status === 204) return null;
  const type = res.headers.get('Content-Type') || '';
  return type.includes('json') ? res.json() : res.text();
}

export const api = {
  get: (path) => request('GET', '/api' + path),
  post: (path, body, headers) => request('POST', '/api' + path, body, headers),
  patch: (path, body, headers) => request('PATCH', '/api' + path, body, headers),
  del: (path) => request('DELETE', '/api' + path),
};

// where builds a ?where= query parameter.
export const where = (f) => 'where=' + encodeURIComponent(f);

// quote writes a string literal of the filter language.
export const quote = (s) => JSON.stringify(String(s));

// subscribe follows the API's event stream, calling onEvent with each
// change event; it reconnects after an error, resuming after the last event
// it saw. It answers a function that stops it.
export function subscribe(onEvent) {
  let last = null;
  let stopped = false;
  let ctrl = null;
  async function loop() {
    while (!stopped) {
      ctrl = new AbortController();
      try {
        const headers = { Accept: 'text/event-stream' };
        if (last !== null) headers['Last-Event-ID'] = last;
        const res = await fetch('/api/events', { headers, signal: ctrl.signal, credentials: 'same-origin' });
        if (!res.ok) throw new Error('event stream: ' + res.status);
        const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
        let buf = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buf += value;
          let end;
          while ((end = buf.indexOf('\n\n')) >= 0) {
            const block = buf.slice(0, end);
            buf = buf.slice(end + 2);
            const ev = parseEvent(block);
            if (ev.id) last = ev.id;
            if (ev.data && ev.event !== 'error') {
              try { onEvent(ev.event, JSON.parse(ev.data)); } catch (e) { console.warn('event', e); }
            }
          }
        }
      } catch (e) {
        if (stopped) return;
      }
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
  loop();
  return () => { stopped = true; ctrl?.abort(); };
}

function parseEvent(block) {
  const ev = { id: null, event: 'message', data: '' };
  for (const line of block.split('\n')) {
    if (line.startsWith(':')) continue;
    const i = line.indexOf(':');
    const field = i < 0 ? line : line.slice(0, i);
    const value = i < 0 ? '' : line.slice(i + 1).replace(/^ /, '');
    if (field === 'id') ev.id = value;
    else if (field === 'event') ev.event = value;
    else if (field === 'data') ev.data += (ev.data ? '\n' : '') + value;
  }
  return ev;
}

// money formats an amount in minor units.
export function money(amount, currency = 'USD') {
  return new Intl.NumberFormat('en-US', { style: 'currency', currency, maximumFractionDigits: 0 })
    .format((amount || 0) / 100);
}

// h makes an element: h('div', {class: 'x', onclick: f}, child, 'text').
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else el.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

// toast shows a short message, an error if err is set.
export function toast(text, err = false) {
  const t = document.getElementById('toast');
  t.textContent = text;
  t.className = err ? 'error' : '';
  t.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { t.hidden = true; }, 4000);
}
