// rawlb's status page (lb/statuspage.h): fetches /status.json (lb/statusjson.h) once a second and
// draws it. The DOM is built with textContent only, never from HTML strings. The charts hold
// what this page has seen since it was opened: a bounded history per real server that halves its
// resolution when full, so a page left open for days keeps its whole span in the same memory.
'use strict';

const REFRESH_MS = 1000;       // the server renders a new snapshot once a second
const FETCH_TIMEOUT_MS = 5000; // the server cuts a connection after 10 s; give up well before
const HISTORY_MAX = 240;       // points per chart (an even number: full, pairs are merged)
const SVG_NS = 'http://www.w3.org/2000/svg';

// key "TCP 198.51.100.10:80 203.0.113.11:80" -> { step: seconds per point, points: [{cps, pps, bps}], acc, n }
const history = new Map();
let previous = null; // { at: ms, drops: {reason: total} } of the last answer, for drops per second

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  for (const c of children) e.append(c instanceof Node ? c : String(c));
  return e;
}

// 1234567 -> "1.23M" ("1.23 MB" with unit "B"): rates and counters at a glance; below 1000 as they are.
function si(n, unit = '') {
  const prefixes = ['', 'k', 'M', 'G', 'T'];
  let i = 0;
  while (n >= 1000 && i < prefixes.length - 1) { n /= 1000; i++; }
  const digits = i ? n.toFixed(n < 10 ? 2 : n < 100 ? 1 : 0) : String(Math.round(n));
  return digits + (unit ? ' ' : '') + prefixes[i] + unit;
}

function plural(n, word) {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

// seconds -> "42s", "3m 5s", "2h 7m", "4d 1h": how long a server has been in its state.
function age(s) {
  if (s === null || s === undefined) return '–';
  const units = [['d', 86400], ['h', 3600], ['m', 60], ['s', 1]];
  const parts = [];
  for (const [u, n] of units) {
    if (s >= n || (u === 's' && parts.length === 0)) { parts.push(Math.floor(s / n) + u); s %= n; }
    if (parts.length === 2) break;
  }
  return parts.join(' ');
}

// A real server's health: what the health check says, or the schedule's view when nothing checks it.
function health(rs) {
  if (rs.health) return rs.health;
  return { checked: false, state: rs.available ? 'up' : 'down', since: null, last: 'not checked' };
}

function remember(key, rate) {
  let h = history.get(key);
  if (!h) { h = { step: 1, points: [], acc: null, n: 0 }; history.set(key, h); }
  const p = { cps: rate.cps, pps: rate.in_pps + rate.out_pps, bps: rate.in_bps + rate.out_bps };
  // With step > 1 a point is the mean of step answers: accumulate until it is complete.
  h.acc = h.acc ? { cps: h.acc.cps + p.cps, pps: h.acc.pps + p.pps, bps: h.acc.bps + p.bps } : p;
  if (++h.n < h.step) return;
  h.points.push({ cps: h.acc.cps / h.n, pps: h.acc.pps / h.n, bps: h.acc.bps / h.n });
  h.acc = null;
  h.n = 0;
  if (h.points.length < HISTORY_MAX) return;
  const merged = [];
  for (let i = 0; i < h.points.length; i += 2) {
    const a = h.points[i], b = h.points[i + 1];
    merged.push({ cps: (a.cps + b.cps) / 2, pps: (a.pps + b.pps) / 2, bps: (a.bps + b.bps) / 2 });
  }
  h.points = merged;
  h.step *= 2;
}

// The chart of one real server, on the scale of its service (max: the peak of all its servers),
// so the servers' charts compare at a glance.
function sparkline(key, metric, max) {
  const h = history.get(key);
  const values = h ? h.points.map(p => p[metric]) : [];
  const width = HISTORY_MAX, height = 30;
  const svg = document.createElementNS(SVG_NS, 'svg');
  svg.setAttribute('class', 'spark');
  svg.setAttribute('viewBox', `0 0 ${width} ${height}`);
  svg.setAttribute('preserveAspectRatio', 'none');
  const title = document.createElementNS(SVG_NS, 'title');
  const unit = { pps: 'packets/s', cps: 'connections/s', bps: 'B/s' }[metric];
  const span = h ? age(h.points.length * h.step) : '0s';
  title.textContent = `${metric}: now ${si(values.at(-1) || 0, unit)}, peak ${si(Math.max(0, ...values), unit)} over ${span}`;
  svg.append(title);
  if (values.length > 1) {
    const xy = values.map((v, i) => `${(i * width / (values.length - 1)).toFixed(1)},${(height - 1 - v / max * (height - 2)).toFixed(1)}`);
    const area = document.createElementNS(SVG_NS, 'polygon');
    area.setAttribute('points', `0,${height} ${xy.join(' ')} ${width},${height}`);
    const line = document.createElementNS(SVG_NS, 'polyline');
    line.setAttribute('points', xy.join(' '));
    svg.append(area, line);
  }
  return svg;
}

function serverKey(svc, rs) {
  return `${svc.proto} ${svc.address}:${svc.port} ${rs.address}:${rs.port}`;
}

function serverRow(svc, rs, metric, max) {
  const name = `${rs.address}:${rs.port}`;
  const h = health(rs);
  const cell = (label, cls, ...content) => el('td', { 'data-label': label, class: cls }, ...content);
  const server = cell('Real server', 'server', name);
  if (rs.sorry) server.append(el('span', { class: 'tag' }, rs.in_use ? 'sorry server, in use' : 'sorry server'));
  if (rs.overloaded) server.append(el('span', { class: 'tag' }, `full: ${rs.active + rs.inactive} of -x ${rs.u_threshold}`));
  return el('tr', { 'data-server': name },
    server,
    cell('Weight', 'num weight', rs.weight),
    cell('ActiveConn', 'num active', rs.active),
    cell('InActConn', 'num inactive', rs.inactive),
    cell('State', `state state-${h.state.replace(/[^a-z-]/g, '')}`, h.state),
    cell('Since', 'num since', age(h.since)),
    cell('Last check', 'last', h.last),
    cell('CPS', 'num rate cps', si(rs.rate.cps)),
    cell('PPS in/out', 'num rate pps', `${si(rs.rate.in_pps)} / ${si(rs.rate.out_pps)}`),
    cell('BPS in/out', 'num rate bps', `${si(rs.rate.in_bps, 'B')} / ${si(rs.rate.out_bps, 'B')}`),
    cell('Seen', 'chart', sparkline(serverKey(svc, rs), metric, max)));
}

// A VIP's BGP announcement as rawlb-ctl status says it (/status.json's "announce", null without
// it): announced once an announcer reports it so, else whether it may be. A VIP reported
// announced that is no longer eligible says both: its announcer has not withdrawn it yet.
function announcement(announce, address) {
  const vip = announce && announce.vips.find(v => v.vip === address);
  if (!vip) return null;
  const announced = vip.reported === 'announced';
  const eligible = vip.eligible === 'up';
  const [state, text] = !eligible ? ['down', announced ? 'not eligible, announced' : 'not eligible']
    : announced ? ['up', 'announced'] : ['eligible', 'eligible'];
  const why = !vip.announcer ? 'no announcer connected' : `the announcer reported: ${vip.reported}`;
  return el('span', { class: `tag bgp bgp-${state}`, 'data-vip': address,
    title: `BGP: ${eligible ? 'eligible (forwarding, a real server up)' : 'not eligible'}; ${why}` }, `BGP ${text}`);
}

function serviceSection(svc, announce) {
  const head = el('tr', {}, ...[['Real server'], ['Weight', 'num'], ['ActiveConn', 'num'], ['InActConn', 'num'],
    ['State'], ['Since', 'num'], ['Last check'], ['CPS', 'num'], ['PPS in/out', 'num'], ['BPS in/out', 'num'],
    ['Seen']].map(([t, cls]) => el('th', cls ? { class: cls } : {}, t)));
  const shown = svc.real_servers.filter(rs => !rs.sorry || rs.in_use);
  shown.forEach(rs => remember(serverKey(svc, rs), rs.rate));
  const metric = document.getElementById('chart-metric').value;
  const max = Math.max(1, ...shown.flatMap(rs => history.get(serverKey(svc, rs)).points.map(p => p[metric])));
  const rows = shown.map(rs => serverRow(svc, rs, metric, max));
  const active = svc.real_servers.reduce((a, rs) => a + rs.active, 0);
  const inactive = svc.real_servers.reduce((a, rs) => a + rs.inactive, 0);
  const persist = svc.persistent ? ` persistent ${svc.persistent}s` : '';
  return el('section', { class: 'service' },
    el('h2', {}, `${svc.proto} ${svc.address}:${svc.port} `, el('span', { class: 'sched' }, svc.scheduler + (svc.sched_flags ? ` (${svc.sched_flags})` : '') + persist),
      announcement(announce, svc.address) || ''),
    el('p', { class: 'totals' },
      `${active} active, ${inactive} inactive · ${si(svc.rate.cps)} conn/s · ` +
      `${si(svc.rate.in_pps + svc.rate.out_pps)} packets/s · ${si(svc.rate.in_bps + svc.rate.out_bps, 'B/s')} · ` +
      `${si(svc.stats.conns)} connections since start`),
    el('table', {}, el('thead', {}, head), el('tbody', {}, ...rows)));
}

// Only with --ha-role: without it the director always forwards and there is no peer to show.
function renderHa(ha) {
  document.getElementById('ha').hidden = !ha;
  if (!ha) return;
  const p = document.getElementById('ha-text');
  const peer = !ha.peer.heard ? 'peer not heard yet'
    : `peer ${ha.peer.alive ? 'alive' : 'dead'}, last heartbeat ${(ha.peer.last_heartbeat_ms / 1000).toFixed(1)} s ago, ` +
      `configuration ${ha.peer.config_match ? 'matches' : 'differs'}`;
  const links = ha.links.map(l => `${l.if} → ${l.peer} ${l.up ? 'up' : 'down'}`).join(', ');
  p.replaceChildren(el('span', { class: `state state-${ha.state === 'master' ? 'up' : 'quiesced'}` }, ha.state),
    ` (${ha.role}) · ${peer} · links: ${links || 'none'}`);
}

// Every drop the fast path and the interfaces counted, with its rate since the previous answer.
function renderDrops(s, now) {
  const totals = {};
  for (const [reason, n] of Object.entries(s.drops || {})) totals[reason] = n;
  for (const i of s.interfaces || []) {
    for (const k of ['receive_buffer_drops', 'overload_drops', 'vlan_drops', 'send_failures'])
      totals[`${k.replace(/_drops$/, '').replace('_', ' ')} (${i.name})`] = i[k];
  }
  const seconds = previous ? (now - previous.at) / 1000 : 0;
  const rows = Object.entries(totals).filter(([, n]) => n > 0).map(([reason, n]) => {
    const before = previous && previous.drops[reason];
    const rate = seconds > 0 && before !== undefined ? si((n - before) / seconds) : '–';
    return el('tr', { 'data-reason': reason }, el('td', { 'data-label': 'Reason' }, reason),
      el('td', { 'data-label': 'Total', class: 'num' }, si(n)), el('td', { 'data-label': 'Per second', class: 'num' }, rate));
  });
  if (!rows.length) rows.push(el('tr', {}, el('td', { colspan: 3 }, 'none')));
  document.querySelector('#drops tbody').replaceChildren(...rows);
  previous = { at: now, drops: totals };
}

function render(s) {
  const now = Date.now();
  const list = s.list || { services: [] };
  document.getElementById('services').replaceChildren(...list.services.map(svc => serviceSection(svc, s.announce)));
  const announcers = s.announce ? ` · ${plural(s.announce.announcers, 'BGP announcer')}` : '';
  document.getElementById('summary').textContent =
    `${list.version || ''} · ${plural(list.services.length, 'service')} · connection table ${si(s.conn_table.entries)} of ${si(s.conn_table.capacity)}` +
    announcers;
  renderHa(s.ha);
  renderDrops(s, now);
  const updated = document.getElementById('updated');
  updated.textContent = `updated ${new Date(now).toLocaleTimeString()}`;
  updated.className = '';
}

async function refresh() {
  try {
    const answer = await fetch('/status.json', { cache: 'no-store', signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) });
    if (!answer.ok) throw new Error(`HTTP ${answer.status}`);
    render(await answer.json());
  } catch (e) {
    const updated = document.getElementById('updated');
    updated.textContent = `no answer from rawlb (${e.message}); showing the last one`;
    updated.className = 'stale';
  }
  setTimeout(refresh, REFRESH_MS); // after the answer, so a slow one never piles requests up
}

document.addEventListener('DOMContentLoaded', refresh);
