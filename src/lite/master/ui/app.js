// mmrun's master web UI (docs/web-ui.md). Every POLL_MS it reads the leading master's
// /master/state — and /master/roles or an agent's /state and /files for the views that need
// them — and renders the view the URL's hash names into #view. No framework and no build step:
// the three files are compiled into mmrun and served by every master.
'use strict';

const POLL_MS = 1000;
const TAIL_BYTES = 64 * 1024;
const FETCH_MS = 3000;
// How often the list of masters (`/ui/masters`: ZooKeeper's group) is read again.
const MASTERS_MS = 5000;

// The master being read: '' is the one that served this page. A master that does not lead
// redirects /master/state to the leader; the page then reads the leader directly, and falls
// back to the other masters it knows (this page's own first, then those `/ui/masters` names)
// when that one stops answering.
let base = '';
const known = [''];
let mastersReadAt = 0;
let state = null;
let shown = '';

const esc = (v) => String(v ?? '').replace(/[&<>"']/g,
  (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
const enc = encodeURIComponent;
const time = (s) => (s ? new Date(s * 1000).toISOString().replace('T', ' ').slice(0, 19) : '');
const num = (v, digits = 1) => String(+(+v || 0).toFixed(digits));
const mb = (v) => `${num(v, 0)} MB`;
// `master@10.0.0.1:5050` or `slave(1)@10.0.0.2:5051` → `http://10.0.0.1:5050`.
const pidUrl = (pid) => {
  const m = /@([^@:]+):(\d+)$/.exec(pid || '');
  return m ? `http://${m[1]}:${m[2]}` : null;
};
const link = (href, text) => `<a href="${esc(href)}">${esc(text)}</a>`;
const table = (heads, rows, empty = 'None.') => rows.length === 0
  ? `<p class="muted">${esc(empty)}</p>`
  : `<table><tr>${heads.map((h) => `<th${h.endsWith(' ') ? ' class="num"' : ''}>${esc(h)}</th>`).join('')}</tr>`
    + rows.map((r) => `<tr>${r.map((c, i) => `<td${heads[i].endsWith(' ') ? ' class="num"' : ''}>${c}</td>`).join('')}</tr>`).join('')
    + '</table>';

async function getJson(url) {
  // A stopped container's address may not even refuse: give up on it after a few seconds.
  const answer = await fetch(url, { cache: 'no-store', signal: AbortSignal.timeout(FETCH_MS) });
  if (!answer.ok) throw new Error(`${url || '/'}: HTTP ${answer.status} ${await answer.text()}`);
  return { json: await answer.json(), url: answer.url, redirected: answer.redirected };
}

// Reads the leader's state, following redirects and trying every master read before.
async function readState() {
  const tried = [base, ...known.filter((b) => b !== base)];
  let failure = null;
  for (const b of tried) {
    try {
      const got = await getJson(`${b}/master/state`);
      const s = got.json;
      if (got.redirected) base = new URL(got.url).origin;
      else if (s.leader && s.leader !== s.pid && pidUrl(s.leader)) base = pidUrl(s.leader);
      else base = b;
      if (!known.includes(base)) known.push(base);
      if (Date.now() - mastersReadAt > MASTERS_MS) await readMasters();
      return s;
    } catch (e) {
      failure = e;
    }
  }
  throw failure;
}

// Learns every master of the cluster while one answers, to have somewhere to turn when the
// leader stops. Best effort: a failure here changes nothing.
async function readMasters() {
  mastersReadAt = Date.now();
  try {
    const { json } = await getJson(`${base}/ui/masters`);
    for (const m of json.masters) {
      const url = pidUrl(m.pid);
      if (url && !known.includes(url)) known.push(url);
    }
  } catch (e) { /* the next read tries again */ }
}

// All tasks, live and completed, of active and completed frameworks.
function allTasks(s) {
  const out = [];
  for (const f of [...s.frameworks, ...s.completed_frameworks]) {
    for (const t of [...f.tasks, ...(f.unreachable_tasks || []), ...f.completed_tasks]) out.push(t);
  }
  return out;
}
const frameworkName = (s, id) => ([...s.frameworks, ...s.completed_frameworks].find((f) => f.id === id) || {}).name || id;
const agentOf = (s, id) => s.slaves.find((a) => a.id === id);
const agentName = (s, id) => (agentOf(s, id) || {}).hostname || id;
const res = (r) => `${num(r.cpus, 2)} cpus, ${mb(r.mem)}, ${mb(r.disk)} disk${r.gpus ? `, ${r.gpus} gpus` : ''}`;
const attrs = (a) => Object.entries(a || {}).map(([k, v]) => `${esc(k)}:${esc(v)}`).join('; ');
const stateCell = (st) => `<span class="state ${esc(st)}">${esc(st)}</span>`;

function taskRows(s, tasks) {
  return tasks.map((t) => [
    link(`#/tasks/${enc(t.framework_id)}/${enc(t.id)}`, t.id),
    esc(t.name),
    stateCell(t.state),
    link(`#/frameworks/${enc(t.framework_id)}`, frameworkName(s, t.framework_id)),
    link(`#/agents/${enc(t.slave_id)}`, agentName(s, t.slave_id)),
    esc(time((t.statuses[t.statuses.length - 1] || {}).timestamp)),
    link(`#/sandbox/${enc(t.slave_id)}/${enc(t.framework_id)}/${enc(t.id)}`, 'sandbox'),
  ]);
}
const TASK_HEADS = ['ID', 'Name', 'State', 'Framework', 'Agent', 'Updated', ''];

const views = {
  overview(s) {
    const sum = (key) => s.slaves.reduce((acc, a) => {
      for (const r of ['cpus', 'mem', 'disk', 'gpus']) acc[r] += +(a[key] || {})[r] || 0;
      return acc;
    }, { cpus: 0, mem: 0, disk: 0, gpus: 0 });
    const total = sum('resources'); const used = sum('used_resources'); const offered = sum('offered_resources');
    const row = (name, f) => [esc(name), ...['cpus', 'mem', 'disk', 'gpus'].map((r) => esc(num(f(r), 2)))];
    const tasks = allTasks(s);
    const count = (st) => tasks.filter((t) => t.state === st).length;
    const inactive = s.frameworks.filter((f) => !f.active).length;
    const card = (label, value, id) => `<div class="card" id="${id}"><b>${esc(value)}</b>${esc(label)}</div>`;
    return `<h1>Cluster ${esc(s.cluster || '')}</h1>
      <table>
        <tr><th>Leader</th><td>${esc(s.leader || 'none elected')}</td></tr>
        <tr><th>This master</th><td>${esc(s.pid)} (${esc(s.id)})</td></tr>
        <tr><th>Version</th><td>${esc(s.version)}</td></tr>
        <tr><th>Started</th><td>${esc(time(s.start_time))}</td></tr>
        <tr><th>Elected</th><td>${esc(time(s.elected_time))}</td></tr>
      </table>
      <div class="cards">
        ${card('agents', s.slaves.length, 'agents-count')}
        ${card('activated agents', s.activated_slaves, 'activated-count')}
        ${card('unreachable agents', s.unreachable_slaves, 'unreachable-count')}
        ${card('active frameworks', s.frameworks.length - inactive, 'frameworks-count')}
        ${card('inactive frameworks', inactive, 'inactive-count')}
        ${card('completed frameworks', s.completed_frameworks.length, 'completed-count')}
      </div>
      <div class="cards">
        ${['TASK_STAGING', 'TASK_STARTING', 'TASK_RUNNING', 'TASK_KILLING', 'TASK_FINISHED', 'TASK_KILLED', 'TASK_FAILED', 'TASK_LOST']
          .map((st) => card(st.slice(5).toLowerCase(), count(st), st)).join('')}
      </div>
      <h2>Resources</h2>
      ${table(['', 'CPUs ', 'Mem (MB) ', 'Disk (MB) ', 'GPUs '], [
        row('Total', (r) => total[r]), row('Used', (r) => used[r]), row('Offered', (r) => offered[r]),
        row('Idle', (r) => total[r] - used[r] - offered[r])])}`;
  },

  frameworks(s) {
    const rows = (list) => list.map((f) => [
      link(`#/frameworks/${enc(f.id)}`, f.id), esc(f.name), esc(f.roles ? f.roles.join(', ') : f.role),
      esc(f.user), esc(f.tasks.length), esc(num(f.used_resources.cpus, 2)), esc(mb(f.used_resources.mem)),
      esc(time(f.registered_time))]);
    const heads = ['ID', 'Name', 'Roles', 'User', 'Active tasks ', 'CPUs ', 'Mem ', 'Registered'];
    return `<h1>Frameworks</h1>
      <h2>Active</h2>${table(heads, rows(s.frameworks.filter((f) => f.active)))}
      <h2>Inactive</h2>${table(heads, rows(s.frameworks.filter((f) => !f.active)))}
      <h2>Completed</h2>${table(heads, rows(s.completed_frameworks))}`;
  },

  framework(s, id) {
    const f = [...s.frameworks, ...s.completed_frameworks].find((x) => x.id === id);
    if (!f) return `<h1>Framework ${esc(id)}</h1><p>Not known to this master.</p>`;
    const status = s.completed_frameworks.includes(f) ? 'completed' : (f.active ? 'active' : 'inactive');
    return `<h1>Framework ${esc(f.name)}</h1>
      <table>
        <tr><th>ID</th><td>${esc(f.id)}</td></tr><tr><th>Status</th><td>${status}</td></tr>
        <tr><th>Roles</th><td>${esc(f.roles ? f.roles.join(', ') : f.role)}</td></tr>
        <tr><th>User / principal</th><td>${esc(f.user)} / ${esc(f.principal || '')}</td></tr>
        <tr><th>Hostname</th><td>${esc(f.hostname)}</td></tr>
        <tr><th>Web UI</th><td>${f.webui_url ? link(f.webui_url, f.webui_url) : ''}</td></tr>
        <tr><th>Failover timeout</th><td>${esc(f.failover_timeout)} s</td></tr>
        <tr><th>Used</th><td>${res(f.used_resources)}</td></tr>
        <tr><th>Offered</th><td>${res(f.offered_resources)}</td></tr>
      </table>
      <h2>Active tasks</h2>${table(TASK_HEADS, taskRows(s, [...f.tasks, ...(f.unreachable_tasks || [])]))}
      <h2>Completed tasks</h2>${table(TASK_HEADS, taskRows(s, f.completed_tasks))}`;
  },

  agents(s) {
    const rows = s.slaves.map((a) => [
      link(`#/agents/${enc(a.id)}`, a.id), esc(a.hostname),
      esc(`${num(a.used_resources.cpus, 2)} / ${num(a.resources.cpus, 2)}`),
      esc(`${num(a.used_resources.mem, 0)} / ${num(a.resources.mem, 0)}`),
      esc(`${num(a.used_resources.disk, 0)} / ${num(a.resources.disk, 0)}`),
      attrs(a.attributes), esc(a.active ? 'active' : 'inactive'), esc(time(a.registered_time))]);
    return `<h1>Agents</h1>${table(['ID', 'Host', 'CPUs used/total ', 'Mem (MB) ', 'Disk (MB) ', 'Attributes', 'Status', 'Registered'], rows)}`;
  },

  agent(s, id) {
    const a = agentOf(s, id);
    if (!a) return `<h1>Agent ${esc(id)}</h1><p>Not registered with this master.</p>`;
    const tasks = allTasks(s).filter((t) => t.slave_id === id);
    return `<h1>Agent ${esc(a.hostname)}</h1>
      <table>
        <tr><th>ID</th><td>${esc(a.id)}</td></tr><tr><th>PID</th><td>${esc(a.pid)}</td></tr>
        <tr><th>Status</th><td>${a.active ? 'active' : 'inactive'}</td></tr>
        <tr><th>Resources</th><td>${res(a.resources)}${a.resources.ports ? `, ports ${esc(a.resources.ports)}` : ''}</td></tr>
        <tr><th>Used</th><td>${res(a.used_resources)}</td></tr>
        <tr><th>Offered</th><td>${res(a.offered_resources)}</td></tr>
        <tr><th>Reserved</th><td>${Object.entries(a.reserved_resources || {}).map(([r, v]) => `${esc(r)}: ${res(v)}`).join('<br>')}</td></tr>
        <tr><th>Attributes</th><td>${attrs(a.attributes)}</td></tr>
        <tr><th>Registered</th><td>${esc(time(a.registered_time))}</td></tr>
      </table>
      <h2>Tasks</h2>${table(TASK_HEADS, taskRows(s, tasks))}`;
  },

  tasks(s) {
    const tasks = allTasks(s);
    const live = tasks.filter((t) => !/^TASK_(FINISHED|FAILED|KILLED|LOST|ERROR|DROPPED|GONE)/.test(t.state));
    return `<h1>Tasks</h1>
      <h2>Active</h2>${table(TASK_HEADS, taskRows(s, live))}
      <h2>Completed</h2>${table(TASK_HEADS, taskRows(s, tasks.filter((t) => !live.includes(t))))}`;
  },

  task(s, frameworkId, taskId) {
    const t = allTasks(s).find((x) => x.framework_id === frameworkId && x.id === taskId);
    if (!t) return `<h1>Task ${esc(taskId)}</h1><p>Not known to this master.</p>`;
    return `<h1>Task ${esc(t.name)}</h1>
      <table>
        <tr><th>ID</th><td>${esc(t.id)}</td></tr>
        <tr><th>State</th><td id="task-state">${stateCell(t.state)}</td></tr>
        <tr><th>Framework</th><td>${link(`#/frameworks/${enc(t.framework_id)}`, frameworkName(s, t.framework_id))}</td></tr>
        <tr><th>Agent</th><td>${link(`#/agents/${enc(t.slave_id)}`, agentName(s, t.slave_id))}</td></tr>
        <tr><th>Executor</th><td>${esc(t.executor_id || '(command executor)')}</td></tr>
        <tr><th>Role</th><td>${esc(t.role || '')}</td></tr>
        <tr><th>Resources</th><td>${res(t.resources)}</td></tr>
        <tr><th>Sandbox</th><td>${link(`#/sandbox/${enc(t.slave_id)}/${enc(t.framework_id)}/${enc(t.id)}`, 'browse')}</td></tr>
      </table>
      <h2>Status history</h2>
      ${table(['State', 'Time', 'Healthy'], t.statuses.map((st) => [stateCell(st.state), esc(time(st.timestamp)), esc(st.healthy ?? '')]))}`;
  },

  async roles() {
    const { json } = await getJson(`${base}/master/roles`);
    return `<h1>Roles</h1>${table(['Role', 'Weight ', 'Frameworks ', 'Allocated', 'Offered'],
      json.roles.map((r) => [esc(r.name), esc(r.weight), esc(r.frameworks.length), res(r.resources), res(r.offered || {})]))}`;
  },

  offers(s) {
    const rows = s.frameworks.flatMap((f) => f.offers.map((o) => [
      esc(o.id), link(`#/frameworks/${enc(f.id)}`, f.name), link(`#/agents/${enc(o.slave_id)}`, agentName(s, o.slave_id)),
      esc((o.allocation_info || {}).role || ''), res(o.resources)]));
    return `<h1>Offers</h1>${table(['ID', 'Framework', 'Agent', 'Role', 'Resources'], rows, 'No outstanding offers.')}`;
  },

  // A task's sandbox: the agent's /state names its executor's directory.
  async sandbox(s, agentId, frameworkId, taskId) {
    const agent = agentUrl(s, agentId);
    let json;
    try {
      ({ json } = await getJson(`${agent}/state`));
    } catch (e) {
      // Simulated agents serve no /state and have no sandboxes.
      return `<h1>Sandbox of ${esc(taskId)}</h1><p>Cannot read the agent's sandboxes: ${esc(e.message)}
        (a simulated agent has none).</p>`;
    }
    let directory = null;
    for (const f of [...json.frameworks, ...json.completed_frameworks]) {
      if (f.id !== frameworkId) continue;
      for (const e of [...f.executors, ...f.completed_executors]) {
        if ([...e.tasks, ...e.queued_tasks, ...e.completed_tasks].some((t) => t.id === taskId)) directory = e.directory;
      }
    }
    if (!directory) return `<h1>Sandbox of ${esc(taskId)}</h1><p>The agent no longer has this task's sandbox.</p>`;
    return views.browse(s, agentId, directory, `Sandbox of ${taskId}`);
  },

  async browse(s, agentId, path, title) {
    const agent = agentUrl(s, agentId);
    const { json } = await getJson(`${agent}/files/browse?path=${enc(path)}`);
    const parent = path.replace(/\/[^/]+\/?$/, '');
    const rows = json.map((e) => {
      const name = e.path.slice(e.path.lastIndexOf('/') + 1);
      const dir = e.mode.startsWith('d');
      const href = `#/${dir ? 'browse' : 'file'}/${enc(agentId)}/${enc(e.path)}`;
      return [`<a href="${esc(href)}" data-name="${esc(name)}">${esc(name)}${dir ? '/' : ''}</a>`,
        esc(e.mode), esc(e.size), esc(time(e.mtime))];
    });
    return `<h1>${esc(title || path)}</h1><p class="muted">${esc(agentName(s, agentId))}:${esc(path)}
      · ${link(`#/browse/${enc(agentId)}/${enc(parent)}`, 'up')}</p>
      ${table(['Name', 'Mode', 'Size ', 'Modified'], rows, 'Empty directory.')}`;
  },

  // The last TASK_BYTES of a file, re-read every poll: a tail -f of stdout/stderr.
  async file(s, agentId, path) {
    const agent = agentUrl(s, agentId);
    const { json: end } = await getJson(`${agent}/files/read?path=${enc(path)}&offset=-1`);
    const from = Math.max(0, end.offset - TAIL_BYTES);
    const { json } = await getJson(`${agent}/files/read?path=${enc(path)}&offset=${from}&length=${TAIL_BYTES}`);
    const dir = path.replace(/\/[^/]+$/, '');
    return `<h1>${esc(path.slice(path.lastIndexOf('/') + 1))}</h1>
      <p class="muted">${esc(agentName(s, agentId))}:${esc(path)} · ${esc(end.offset)} bytes${from ? ' (showing the end)' : ''}
      · ${link(`#/browse/${enc(agentId)}/${enc(dir)}`, 'directory')} · ${link(`${agent}/files/download?path=${enc(path)}`, 'download')}</p>
      <pre class="file" id="file">${esc(json.data)}</pre>`;
  },
};

function agentUrl(s, agentId) {
  const a = agentOf(s, agentId);
  const url = a && pidUrl(a.pid);
  if (!url) throw new Error(`agent ${agentId} is not registered: its files cannot be read`);
  return url;
}

// `#/tasks/<framework>/<task>` → the view's name and its decoded arguments.
function route() {
  const parts = location.hash.replace(/^#\/?/, '').split('/').filter((p) => p !== '').map(decodeURIComponent);
  const singular = { frameworks: 'framework', agents: 'agent', tasks: 'task' };
  const [name = 'overview', ...args] = parts;
  if (args.length && singular[name]) return [singular[name], args];
  return [views[name] ? name : 'overview', args];
}

async function refresh() {
  const error = document.getElementById('error');
  try {
    state = await readState();
    const [name, args] = route();
    const html = await views[name](state, ...args);
    document.getElementById('leader').textContent = `leader ${state.leader || 'none'} · reading ${base || location.origin}`;
    error.hidden = true;
    // Unchanged views are left alone, so selections and scroll positions survive the poll.
    if (html !== shown) {
      document.getElementById('view').innerHTML = html;
      shown = html;
    }
  } catch (e) {
    error.textContent = `Cannot read: ${e.message} (retrying)`;
    error.hidden = false;
  }
}

async function loop() {
  await refresh();
  setTimeout(loop, POLL_MS);
}
window.addEventListener('hashchange', () => { shown = ''; refresh(); });
loop();
