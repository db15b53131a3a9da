// The supervisor page: polls GET /v1/supervisor/overview and draws it. Text goes in through textContent
// only (ticket subjects come from customers), and the bearer token is read from the URL fragment, which
// the browser never sends anywhere.
"use strict";
(() => {
  const BUCKETS = ["<1h", "1-4h", "4-24h", "1-3d", ">3d"];
  const DASH = "–";
  const $ = (id) => document.getElementById(id);
  const charts = {};
  let timer = null;
  let generation = 0; // bumped when the token changes, so an old poll loop stops
  let token = null;

  function el(tag, props = {}, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(props)) {
      if (key === "text") node.textContent = value;
      else if (key === "class") node.className = value;
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value);
    }
    node.append(...children);
    return node;
  }

  function settings() {
    const params = new URLSearchParams(location.hash.slice(1));
    const refresh = Number(params.get("refresh"));
    return { token: params.get("token"), refresh: Number.isFinite(refresh) && refresh >= 1 ? refresh : 5 };
  }

  async function api(path) {
    const response = await fetch(path, { headers: { Authorization: `Bearer ${token}` }, cache: "no-store" });
    if (!response.ok) {
      let detail = response.statusText;
      try {
        const body = await response.json();
        detail = typeof body.detail === "string" ? body.detail : JSON.stringify(body.detail ?? body);
      } catch { /* not JSON */ }
      throw Object.assign(new Error(`${response.status}: ${detail}`), { status: response.status });
    }
    return response.json();
  }

  function problem(message) {
    $("problem").hidden = !message;
    $("problem").textContent = message ?? "";
  }

  const utcTime = (iso) => iso ? `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC` : DASH;
  const fixed = (value) => value === null || value === undefined ? DASH : value.toFixed(1);

  function relative(iso, asOf) {
    const minutes = Math.round((Date.parse(iso) - Date.parse(asOf)) / 60000);
    const span = Math.abs(minutes) < 120 ? `${Math.abs(minutes)} min` : `${Math.round(Math.abs(minutes) / 60)} h`;
    return minutes >= 0 ? `in ${span}` : `${span} ago`;
  }

  function fill(tbody, rows) {
    tbody.replaceChildren(...rows);
  }

  function renderBacklog(backlog) {
    const byRow = new Map();
    const totals = BUCKETS.map(() => 0);
    for (const item of backlog) {
      const key = JSON.stringify([item.queue_id, item.priority]);
      if (!byRow.has(key)) byRow.set(key, { queue: item.queue_id, priority: item.priority, counts: BUCKETS.map(() => 0) });
      const index = BUCKETS.indexOf(item.age_bucket);
      byRow.get(key).counts[index] += item.open;
      totals[index] += item.open;
    }
    const cells = (counts) => [...counts, counts.reduce((a, b) => a + b, 0)].map((n) => el("td", { class: "num", text: String(n) }));
    fill($("backlog").tBodies[0], [...byRow.values()].map((row) => el("tr", {},
      el("th", { scope: "row", text: row.queue ?? "(no queue)" }), el("td", { text: row.priority ?? DASH }), ...cells(row.counts))));
    fill($("backlog").tFoot, [el("tr", {}, el("th", { scope: "row", colspan: "2", text: "All queues" }), ...cells(totals))]);
    const total = totals.reduce((a, b) => a + b, 0);
    $("open-total").textContent = String(total);
    $("backlog-chart").setAttribute("aria-label", `Open tickets by age: ${BUCKETS.map((b, i) => `${b} ${totals[i]}`).join(", ")}`);
    chart("backlog", $("backlog-chart"), backlogOptions, [BUCKETS.map((_, i) => i), totals]);
  }

  function renderAtRisk(items, total, asOf) {
    fill($("at-risk").tBodies[0], items.map((t) => el("tr", { class: `sla-${t.sla_state}` },
      el("th", { scope: "row" }, el("a", { href: `/v1/tickets/${encodeURIComponent(t.id)}`, "data-ticket-id": t.id,
        text: t.reference ?? t.id, onclick: (event) => { event.preventDefault(); showTicket(t.id); } })),
      el("td", { text: t.subject ?? DASH }),
      el("td", { text: t.queue_id ?? "(no queue)" }),
      el("td", { text: t.assignee_id ?? "unassigned" }),
      el("td", {}, el("span", { class: "badge", text: t.sla_state === "breached" ? "breached" : "at risk" })),
      el("td", {}, t.next_deadline
        ? el("time", { datetime: t.next_deadline, text: `${utcTime(t.next_deadline)} (${relative(t.next_deadline, asOf)})` })
        : DASH))));
    if (!items.length) fill($("at-risk").tBodies[0], [el("tr", {}, el("td", { colspan: "6", text: "No open ticket is at risk." }))]);
    $("at-risk-total").textContent = String(total);
    $("at-risk-more").hidden = total <= items.length;
    $("at-risk-more").textContent = `Showing the ${items.length} most urgent of ${total}.`;
  }

  function renderAgents(agents) {
    fill($("agents").tBodies[0], agents.map((a) => el("tr", { class: `presence-${a.presence ?? "unknown"}` },
      el("th", { scope: "row", text: a.agent_id }), el("td", { text: a.presence ?? "unknown" }),
      el("td", { class: "num", text: String(a.open_assigned) }))));
    $("agents-online").textContent = String(agents.filter((a) => a.presence === "online").length);
  }

  function renderTrend(trend) {
    fill($("trend").tBodies[0], trend.map((d) => el("tr", {},
      el("th", { scope: "row" }, el("time", { datetime: d.day, text: d.day })),
      el("td", { class: "num", text: fixed(d.csat_percent) }), el("td", { class: "num", text: fixed(d.nps) }))));
    const answered = trend.filter((d) => d.csat_percent !== null || d.nps !== null).length;
    $("trend-chart").setAttribute("aria-label", `CSAT and NPS per day over ${trend.length} days, ${answered} with answers; values in the table below`);
    chart("trend", $("trend-chart"), trendOptions,
      [trend.map((d) => Date.parse(`${d.day}T00:00:00Z`) / 1000), trend.map((d) => d.csat_percent), trend.map((d) => d.nps)]);
  }

  const backlogOptions = (width) => ({
    width, height: 180, legend: { show: false }, cursor: { show: false },
    scales: { x: { time: false, range: [-0.5, BUCKETS.length - 0.5] }, y: { range: (u, min, max) => [0, Math.max(1, max)] } },
    axes: [{ splits: () => BUCKETS.map((_, i) => i), values: (u, splits) => splits.map((i) => BUCKETS[i] ?? "") }, {}],
    series: [{}, { label: "Open tickets", fill: "#3b6fb6", stroke: "#2b5592", paths: uPlot.paths.bars({ size: [0.6, 80] }), points: { show: false } }],
  });

  const trendOptions = (width) => ({
    width, height: 220, tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), "Etc/UTC"),
    scales: { x: { time: true }, pct: { range: [0, 100] }, nps: { range: [-100, 100] } },
    axes: [{}, { scale: "pct", label: "CSAT %" }, { scale: "nps", side: 1, label: "NPS", grid: { show: false } }],
    series: [
      { label: "Day", value: (u, ts) => ts === null ? DASH : new Date(ts * 1000).toISOString().slice(0, 10) },
      { label: "CSAT %", scale: "pct", stroke: "#1f5fa8", width: 2, points: { show: true, size: 6 } },
      { label: "NPS", scale: "nps", stroke: "#b34700", width: 2, dash: [6, 3], points: { show: true, size: 6 } },
    ],
  });

  function chart(name, container, options, data) {
    if (typeof uPlot === "undefined") return; // the tables still carry every figure
    if (!charts[name]) charts[name] = new uPlot(options(container.clientWidth || 600), data, container);
    else charts[name].setData(data);
  }

  window.addEventListener("resize", () => {
    for (const [name, c] of Object.entries(charts)) c.setSize({ width: $(`${name}-chart`).clientWidth, height: c.height });
  });

  function render(data) {
    renderBacklog(data.backlog);
    renderAtRisk(data.at_risk, data.at_risk_total ?? data.at_risk.length, data.as_of);
    renderAgents(data.agents);
    renderTrend(data.trend);
    $("breaches-today").textContent = String(data.breaches_today);
    document.body.dataset.asOf = data.as_of;
    document.body.dataset.updates = String(Number(document.body.dataset.updates) + 1);
  }

  async function poll(mine, refresh) {
    if (mine !== generation) return;
    if (document.visibilityState === "hidden") { timer = null; return; } // resumed on visibilitychange
    try {
      const data = await api("/v1/supervisor/overview");
      if (mine !== generation) return;
      render(data);
      problem(null);
      document.body.dataset.state = "ready";
      $("status").textContent = `Figures as of ${data.as_of.slice(11, 19)} UTC · refreshed every ${refresh} s`;
    } catch (error) {
      if (mine !== generation) return;
      const rejected = error.status === 401 || error.status === 403;
      problem(rejected ? `The reporting API refused this token (${error.message}). Open the page as /supervisor#token=… with a valid token.`
        : `Could not reach the reporting API (${error.message}); retrying every ${refresh} s.`);
      document.body.dataset.state = rejected ? "rejected" : "stale";
      if (rejected) { timer = null; return; }
    }
    timer = setTimeout(() => poll(mine, refresh), refresh * 1000);
  }

  function start() {
    clearTimeout(timer);
    const mine = ++generation;
    const current = settings();
    token = current.token;
    if (!token) {
      document.body.dataset.state = "no-token";
      $("status").textContent = "Not connected.";
      problem("This page needs a reporting token: open it as /supervisor#token=YOUR_TOKEN. " +
        "The part after # stays in your browser; it is sent only as the Authorization header of this page's requests.");
      return;
    }
    poll(mine, current.refresh);
  }

  async function showTicket(id) {
    const dialog = $("ticket");
    $("ticket-title").textContent = `Ticket ${id}`;
    $("ticket-problem").hidden = true;
    fill($("ticket-fields"), []);
    $("ticket-json").textContent = "";
    if (!dialog.open) dialog.showModal();
    try {
      const view = await api(`/v1/tickets/${encodeURIComponent(id)}`);
      $("ticket-title").textContent = `${view.reference ?? id}: ${view.subject ?? ""}`;
      const fields = [["Status", view.status], ["Priority", view.priority], ["Queue", view.queue_id], ["Team", view.team_id],
        ["Assignee", view.assignee_id], ["SLA", view.sla_state], ["Next deadline", utcTime(view.next_deadline)],
        ["Opened", utcTime(view.opened_at)], ["Updated", utcTime(view.updated_at)]];
      fill($("ticket-fields"), fields.flatMap(([name, value]) => [el("dt", { text: name }), el("dd", { text: value ?? DASH })]));
      $("ticket-json").textContent = JSON.stringify(view, null, 2);
    } catch (error) {
      $("ticket-problem").hidden = false;
      $("ticket-problem").textContent = `Could not load this ticket (${error.message}).`;
    }
  }

  $("ticket-close").addEventListener("click", () => $("ticket").close());
  window.addEventListener("hashchange", start);
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible" && timer === null && document.body.dataset.state !== "rejected"
        && document.body.dataset.state !== "no-token") start();
  });
  start();
})();
