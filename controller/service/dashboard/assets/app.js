// PSO-PRIME dashboard (docs/dashboard.md): the fleet, one system's demand,
// forecast, capacity and decisions, and the recorded scenarios, all read from
// this controller's JSON API with the same token rules as every other client.
//
// Every string from the API reaches the page as text (text nodes, attribute
// values set one by one), never as markup: system names, rationales and
// alert subjects come from agents and operators.
"use strict";

(() => {
  const kTokenKey = "pso.dashboard.token";
  const kRefreshKey = "pso.dashboard.refresh_s";
  const kWindowKey = "pso.dashboard.window";
  const kSvgNs = "http://www.w3.org/2000/svg";
  // Enough cycles to cover the chart's window at short cycle intervals while
  // keeping one poll to a few hundred rows.
  const kCycleLimit = 300;
  const kDecisionRows = 20;
  const kSamplePage = 10000;
  const kMaxSamplePages = 5;
  const kWindows = { "5m": 5 * 60e3, "15m": 15 * 60e3, "1h": 60 * 60e3, "6h": 6 * 60 * 60e3 };
  const kEvents = ["scaling_executed", "bottleneck_prevented", "coordination_optimized",
    "workflow_enhanced"];
  const kLevels = ["foundation", "advanced_optimization", "system_integration",
    "enterprise_coordination"];

  // ---- DOM: elements and text only ----------------------------------------

  function setAttrs(node, attrs) {
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      node.setAttribute(name, value === true ? "" : String(value));
    }
  }
  function append(node, ...children) {
    for (const child of children.flat(Infinity)) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    setAttrs(node, attrs);
    return append(node, children);
  }
  function svg(tag, attrs, ...children) {
    const node = document.createElementNS(kSvgNs, tag);
    setAttrs(node, attrs);
    return append(node, children);
  }
  const $ = (id) => document.getElementById(id);

  // ---- formatting ----------------------------------------------------------

  function isNum(v) { return typeof v === "number" && Number.isFinite(v); }
  function fmtNum(v) {
    if (!isNum(v)) return "–";
    const digits = Math.abs(v) >= 100 ? 0 : Math.abs(v) >= 10 ? 1 : 2;
    return v.toLocaleString(undefined, { maximumFractionDigits: digits });
  }
  function pad2(n) { return String(n).padStart(2, "0"); }
  function clock(ms, seconds) {
    const d = new Date(ms);
    const hm = `${pad2(d.getHours())}:${pad2(d.getMinutes())}`;
    return seconds ? `${hm}:${pad2(d.getSeconds())}` : hm;
  }
  function fmtWhen(ms) {
    const d = new Date(ms);
    const today = new Date();
    if (d.toDateString() === today.toDateString()) return clock(ms, true);
    return `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())} ${clock(ms, false)}`;
  }
  function fmtAgo(ms, nowMs) {
    const s = Math.max(0, Math.round((nowMs - ms) / 1000));
    if (s < 60) return `${s} s ago`;
    if (s < 3600) return `${Math.floor(s / 60)} min ago`;
    if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
    return `${Math.floor(s / 86400)} d ago`;
  }
  // A <time> element: the readable form as text, the ISO time for machines.
  function timeEl(iso, relativeTo) {
    if (!iso) return el("span", { class: "muted" }, "never");
    const ms = Date.parse(iso);
    if (!isNum(ms)) return el("span", {}, iso);
    return el("time", { datetime: iso, title: iso },
      relativeTo ? fmtAgo(ms, relativeTo) : fmtWhen(ms));
  }
  function pill(text, kind) { return el("span", { class: `pill ${kind || ""}` }, text); }
  function healthPill(score) {
    if (!isNum(score)) return pill("no checks", "neutral");
    return pill(`${fmtNum(score)} %`, score >= 99.5 ? "ok" : score >= 50 ? "warn" : "bad");
  }
  function bandText(point, lo, hi) {
    if (!isNum(point)) return "–";
    return isNum(lo) && isNum(hi) ? `${fmtNum(point)} (${fmtNum(lo)}–${fmtNum(hi)})` : fmtNum(point);
  }
  function change(from, to) {
    if (!isNum(to)) return "–";
    if (!isNum(from) || from === to) return String(to);
    return [String(from), " ", el("span", { class: to > from ? "arrow-up" : "arrow-down",
      "aria-hidden": "true" }, to > from ? "↑" : "↓"),
    el("span", { class: "visually-hidden" }, to > from ? "up to" : "down to"), " ", String(to)];
  }
  function systemLink(name) {
    return el("a", { href: `#/systems/${encodeURIComponent(name)}` }, name);
  }
  function table(caption, headers, rows, empty) {
    if (rows.length === 0) return el("p", { class: "notice" }, empty);
    return el("div", { class: "table-wrap" }, el("table", {},
      caption ? el("caption", {}, caption) : null,
      el("thead", {}, el("tr", {}, headers.map((h) => el("th", {
        scope: "col", class: h.startsWith("#") ? "num" : null }, h.replace(/^#/, ""))))),
      el("tbody", {}, rows)));
  }
  const td = (...children) => el("td", {}, ...children);
  const tdNum = (...children) => el("td", { class: "num" }, ...children);

  // ---- the API -------------------------------------------------------------

  class AuthRequired extends Error {
    constructor(status, message) { super(message); this.status = status; }
  }
  class ApiError extends Error {
    constructor(status, message) { super(message); this.status = status; }
  }

  function token() { return sessionStorage.getItem(kTokenKey) || ""; }

  function authHeaders() {
    const t = token();
    return t ? { Authorization: `Bearer ${t}` } : {};
  }

  async function api(path) {
    let response;
    try {
      response = await fetch(path, {
        headers: { Accept: "application/json", ...authHeaders() },
        cache: "no-store", credentials: "omit",
      });
    } catch (e) {
      throw new ApiError(0, `the controller did not answer (${e.message})`);
    }
    let body = null;
    try { body = await response.json(); } catch (_) { body = null; }
    const reason = (body && typeof body.error === "string") ? body.error : `HTTP ${response.status}`;
    if (response.status === 401 || response.status === 403) {
      throw new AuthRequired(response.status, reason);
    }
    if (!response.ok) throw new ApiError(response.status, `${path}: ${reason}`);
    return body;
  }

  // null when the route does not exist in this controller (404).
  async function optional(path) {
    try { return await api(path); } catch (e) {
      if (e instanceof ApiError && e.status === 404) return null;
      throw e;
    }
  }

  // API links (lessons, exports) open directly when anonymous reads are
  // allowed; with a token they are fetched with it and saved, because a
  // plain navigation cannot carry the Authorization header.
  function apiLink(path, text, filename) {
    const link = el("a", { href: path, "data-api-link": filename, target: "_blank",
      rel: "noopener" }, text);
    link.addEventListener("click", async (event) => {
      if (!token()) return;
      event.preventDefault();
      try {
        const response = await fetch(path, { headers: authHeaders(), credentials: "omit" });
        if (!response.ok) throw new Error(`HTTP ${response.status}`);
        const url = URL.createObjectURL(await response.blob());
        const save = el("a", { href: url, download: filename });
        document.body.append(save);
        save.click();
        save.remove();
        setTimeout(() => URL.revokeObjectURL(url), 60e3);
      } catch (e) {
        showError(`${path}: ${e.message}`);
      }
    });
    return link;
  }

  // ---- fleet: / ------------------------------------------------------------

  function fleetView() {
    let body;
    return {
      title: "Fleet",
      mount(main) {
        body = el("div", { id: "fleet" });
        append(main, el("h1", {}, "Fleet"), body);
      },
      async load() {
        const [status, agents, systems, alerts] = await Promise.all([
          api("/api/v1/status"), api("/api/v1/agents"), api("/api/v1/systems"),
          optional("/api/v1/alerts")]);
        return { status, agents: agents.agents || [], systems: systems.systems || [], alerts };
      },
      render(data) { body.replaceChildren(...renderFleet(data)); },
    };
  }

  function renderFleet({ status, agents, systems, alerts }) {
    const now = Date.now();
    const active = alerts ? (alerts.alerts || []).filter(
      (a) => a && (a.state === "firing" || a.state === "pending")) : [];
    const firing = active.filter((a) => a.state === "firing").length;
    const lastCycle = status.last_cycle && status.last_cycle.time;
    const cards = el("dl", { class: "cards" },
      card("Agents connected", `${status.agents.connected}`, ` / ${status.agents.total}`),
      card("Systems", `${status.systems}`),
      card("Decision cycles", `${status.cycles}`,
        lastCycle ? [" ", el("small", {}, "last ", timeEl(lastCycle, now))] : null),
      card("Mode", status.mode),
      card("Alerts firing", alerts ? `${firing}` : "–",
        alerts ? ` / ${active.length} active` : " not available"));

    const alertPanel = el("section", { class: "panel", "aria-labelledby": "alerts-title",
      id: "alerts" }, el("h2", { id: "alerts-title" }, "Alerts"));
    if (!alerts) {
      alertPanel.append(el("p", { class: "notice" }, "alerts: not available in this controller"));
    } else {
      alertPanel.append(table(null, ["State", "Rule", "Subject", "Condition", "#Value", "Since"],
        active.map((a) => el("tr", { "data-alert": a.rule },
          td(pill(a.state, a.state === "firing" ? "bad" : "warn")),
          td(a.rule),
          td(a.system ? systemLink(a.system) : a.subject || a.agent || "–"),
          td(el("code", {}, a.condition || "")),
          tdNum(fmtNum(a.value)),
          td(timeEl(a.fired_at || a.since)))), "No firing or pending alerts."));
    }

    const systemRows = systems.map((s) => {
      const capacity = isNum(s.replicas) ? s.replicas * s.capacity_per_replica : null;
      const f = s.forecast || {};
      return el("tr", { "data-system": s.name },
        el("th", { scope: "row" }, systemLink(s.name)),
        td(s.agent),
        tdNum(change(s.replicas, s.desired)),
        tdNum(fmtNum(s.demand && s.demand.value)),
        tdNum(bandText(f.point, f.lo, f.hi)),
        tdNum(fmtNum(capacity)),
        td(healthPill(s.health_score)),
        td(s.last_rule ? el("code", {}, s.last_rule) : "–",
          s.hold ? [" ", pill(`held at ${s.hold.replicas}`, "warn")] : null));
    });
    const systemPanel = el("section", { class: "panel", "aria-labelledby": "systems-title" },
      el("h2", { id: "systems-title" }, "Systems"),
      table(null, ["System", "Agent", "#Replicas → desired", "#Demand", "#Forecast (band)",
        "#Capacity", "Health", "Last rule"], systemRows, "No system has been declared yet."));

    const agentRows = agents.map((a) => el("tr", { "data-agent": a.id },
      el("th", { scope: "row" }, a.id),
      td(a.connected ? pill("connected", "ok") : pill("disconnected", "bad")),
      td(timeEl(a.last_seen, now)),
      td(a.version || "–"),
      td((a.host && typeof a.host.hostname === "string") ? a.host.hostname : "–"),
      td((a.systems || []).map((name, i) => [i ? ", " : "", systemLink(name)]),
        (a.conflicts || []).length ? [" ", pill(`${a.conflicts.length} name conflict(s)`, "warn")]
          : null)));
    const agentPanel = el("section", { class: "panel", "aria-labelledby": "agents-title" },
      el("h2", { id: "agents-title" }, "Agents"),
      table(null, ["Agent", "Status", "Last seen", "Version", "Host", "Systems"], agentRows,
        "No agent has connected yet."));
    return [cards, alertPanel, systemPanel, agentPanel];
  }

  function card(label, value, extra) {
    return el("div", { class: "card" }, el("dt", {}, label),
      el("dd", {}, value, extra ? (typeof extra === "string" ? el("small", {}, extra) : extra) : null));
  }

  // ---- one system: /#/systems/NAME ------------------------------------------

  // The system's decisions, oldest first, each with the count it changed from.
  // The oldest cycle read has no predecessor: its `from` is the replica count
  // it saw, but only when nothing older exists (fewer cycles than asked for).
  function systemDecisions(cycles, name, complete) {
    const items = [];
    for (const cycle of cycles) {
      const d = Array.isArray(cycle.decisions) ? cycle.decisions.find(
        (x) => x && x.system === name) : null;
      if (d) items.push({ cycle, d, ms: Date.parse(cycle.time) });
    }
    items.sort((a, b) => a.ms - b.ms);
    let previous = null;
    for (const [i, item] of items.entries()) {
      item.from = i === 0 ? (complete ? item.d.current : null) : previous;
      item.changed = isNum(item.from) && isNum(item.d.desired) && item.d.desired !== item.from;
      previous = item.d.desired;
    }
    return items;
  }

  async function loadSamples(name, windowKey) {
    const path = `/api/v1/systems/${encodeURIComponent(name)}/samples?limit=${kSamplePage}`;
    let since = windowKey;
    let samples = [];
    // The store answers the oldest rows first; page on until the window is read.
    for (let page = 0; page < kMaxSamplePages; page += 1) {
      const rows = (await api(`${path}&since=${since}`)).samples || [];
      samples = samples.concat(rows);
      if (rows.length < kSamplePage) break;
      since = String(rows[rows.length - 1][0] + 1);
    }
    return samples;
  }

  function systemView(name) {
    const parts = {};
    let windowKey = localStorage.getItem(kWindowKey) || "15m";
    if (!(windowKey in kWindows)) windowKey = "15m";
    let changesOnly = true;
    let last = null;
    return {
      title: name,
      mount(main) {
        const windowSelect = el("select", { id: "window" },
          Object.keys(kWindows).map((k) => el("option", { value: k, selected: k === windowKey },
            `last ${k.replace("m", " min").replace("h", " h")}`)));
        windowSelect.addEventListener("change", () => {
          windowKey = windowSelect.value;
          localStorage.setItem(kWindowKey, windowKey);
          refresh();
        });
        const changes = el("input", { type: "checkbox", id: "changes-only", checked: changesOnly });
        changes.addEventListener("change", () => {
          changesOnly = changes.checked;
          if (last) parts.decisions.replaceChildren(...renderDecisions(last));
        });
        parts.cards = el("dl", { class: "cards" });
        parts.chart = el("div", { id: "chart" });
        parts.legend = el("ul", { class: "legend", "aria-hidden": "true" },
          el("li", {}, el("span", { class: "swatch demand" }), "demand"),
          el("li", {}, el("span", { class: "swatch forecast" }), "forecast"),
          el("li", {}, el("span", { class: "swatch band" }), "forecast interval (lo–hi)"),
          el("li", {}, el("span", { class: "swatch capacity" }), "capacity (replicas × capacity per replica)"),
          el("li", {}, el("span", { class: "swatch decision" }), "scale decision"));
        parts.decisions = el("div", { id: "decisions" });
        parts.directives = el("div", { id: "directives" });
        append(main,
          el("p", { class: "crumbs" }, el("a", { href: "#/" }, "Fleet"), " / ", name),
          el("h1", {}, "System ", el("span", { class: "system-name" }, name)),
          parts.cards,
          el("section", { class: "panel", "aria-labelledby": "chart-title" },
            el("div", { class: "panel-head" }, el("h2", { id: "chart-title" }, "Demand and capacity"),
              el("div", { class: "toolbar" }, el("label", { for: "window" }, "Window"), windowSelect)),
            parts.chart, parts.legend),
          el("section", { class: "panel", "aria-labelledby": "decisions-title" },
            el("div", { class: "panel-head" }, el("h2", { id: "decisions-title" }, "Decisions"),
              el("div", { class: "toolbar" }, changes,
                el("label", { for: "changes-only" }, "scale changes only"))),
            parts.decisions),
          el("section", { class: "panel", "aria-labelledby": "directives-title" },
            el("h2", { id: "directives-title" }, "Directives"), parts.directives));
      },
      async load() {
        const enc = encodeURIComponent(name);
        const system = await optional(`/api/v1/systems/${enc}`);
        if (!system) return { missing: true };
        const [samples, forecast, cycles, directives] = await Promise.all([
          loadSamples(name, windowKey),
          optional(`/api/v1/systems/${enc}/forecast`),
          api(`/api/v1/cycles?limit=${kCycleLimit}`),
          api(`/api/v1/directives?system=${enc}&limit=10`)]);
        const all = cycles.cycles || [];
        return { system, samples, forecast, windowMs: kWindows[windowKey],
          decisions: systemDecisions(all, name, all.length < kCycleLimit),
          directives: directives.directives || [] };
      },
      render(data) {
        if (data.missing) {
          parts.cards.replaceChildren(el("p", { class: "notice" },
            `No system named "${name}" is known to this controller.`));
          return;
        }
        last = data;
        parts.cards.replaceChildren(...renderSystemCards(data.system));
        parts.chart.replaceChildren(drawChart(data));
        parts.decisions.replaceChildren(...renderDecisions(data));
        parts.directives.replaceChildren(renderDirectives(data.directives));
      },
    };

    function renderDecisions(data) {
      const shown = data.decisions.filter((x) => !changesOnly || x.changed).slice(-kDecisionRows)
        .reverse();
      const rows = shown.map(({ cycle, d, ms, from, changed }) => el("tr", {
        class: changed ? "changed" : null, "data-cycle": cycle.id,
        "data-from": isNum(from) ? from : "", "data-current": d.current, "data-desired": d.desired,
        "data-changed": changed ? "true" : "false" },
      td(el("time", { datetime: cycle.time, title: cycle.time }, fmtWhen(ms))),
      tdNum(fmtNum(d.demand)),
      tdNum(bandText(d.forecast_point, d.forecast_lo, d.forecast_hi)),
      tdNum(String(d.current)),
      tdNum(change(from, d.desired)),
      td(el("code", {}, d.rule || "–")),
      el("td", { class: "rationale" }, d.rationale || "",
        (d.guardrails || []).length
          ? el("ul", { class: "muted" }, d.guardrails.map((g) => el("li", {}, g))) : null)));
      return [table(changesOnly
        ? `Decisions that changed the desired count, newest first (from the last ${kCycleLimit} cycles).`
        : `The last ${kDecisionRows} decisions for this system, newest first.`,
      ["Time", "#Demand", "#Forecast (band)", "#Replicas", "#Desired", "Rule", "Rationale"], rows,
      changesOnly ? `No change of the desired count in the last ${kCycleLimit} cycles.`
        : "No decision cycle has included this system yet.")];
    }
  }

  function renderSystemCards(s) {
    const f = s.forecast || {};
    return [
      card("Replicas", isNum(s.replicas) ? String(s.replicas) : "–",
        ` desired ${isNum(s.desired) ? s.desired : "–"} · ${s.min_replicas}–${s.max_replicas}`),
      card("Demand", fmtNum(s.demand && s.demand.value)),
      card("Forecast", fmtNum(f.point),
        isNum(f.lo) && isNum(f.hi) ? ` ${fmtNum(f.lo)}–${fmtNum(f.hi)}` : null),
      card("Capacity", fmtNum(isNum(s.replicas) ? s.replicas * s.capacity_per_replica : null),
        ` ${fmtNum(s.capacity_per_replica)} per replica`),
      card("Health", isNum(s.health_score) ? `${fmtNum(s.health_score)} %` : "–",
        s.health && s.health.length ? ` ${s.health.length} check(s)` : " no checks"),
      card("Agent", s.agent, s.actuator ? ` ${s.actuator}` : null),
    ];
  }

  function renderDirectives(directives) {
    return table("The latest directives for this system, newest first.",
      ["Created", "Action", "#Replicas", "Source", "Status", "Reason", "Result"],
      directives.map((d) => el("tr", { "data-directive": d.id },
        td(timeEl(d.created)), td(d.action), tdNum(fmtNum(d.replicas)), td(d.source),
        td(pill(d.status, d.status === "applied" || d.status === "dry_run" ? "ok"
          : ["failed", "refused", "expired"].includes(d.status) ? "bad" : "neutral")),
        el("td", { class: "rationale" }, d.reason || ""),
        td(d.result_message || ""))),
      "No directive has been sent to this system yet.");
  }

  // ---- the chart -------------------------------------------------------------

  function niceStep(range, count) {
    const raw = range / Math.max(1, count);
    const power = 10 ** Math.floor(Math.log10(raw));
    const unit = raw / power;
    return (unit <= 1 ? 1 : unit <= 2 ? 2 : unit <= 5 ? 5 : 10) * power;
  }
  const kTimeSteps = [5e3, 10e3, 15e3, 30e3, 60e3, 120e3, 300e3, 600e3, 900e3, 1800e3, 3600e3,
    7200e3, 10800e3, 21600e3];

  // Samples averaged into at most `buckets` points; a null stays a gap.
  function downsample(samples, buckets, t0, t1) {
    if (samples.length <= buckets * 2) return samples;
    const width = (t1 - t0) / buckets;
    const out = [];
    let key = null, sum = 0, n = 0, ts = 0;
    for (const [t, v] of samples) {
      const k = Math.floor((t - t0) / width);
      if (k !== key && key !== null) { out.push([ts, n ? sum / n : null]); sum = 0; n = 0; }
      key = k;
      ts = t;
      if (isNum(v)) { sum += v; n += 1; } else { out.push([t, null]); }
    }
    if (key !== null) out.push([ts, n ? sum / n : null]);
    return out;
  }

  function drawChart({ system, samples, forecast, decisions, windowMs }) {
    const W = 960, H = 340, L = 58, R = 18, T = 26, B = 34;
    const cpr = system.capacity_per_replica;
    const step = forecast && isNum(forecast.step_s) ? forecast.step_s * 1000 : 0;
    // "Now" is the controller's latest fact, not this browser's clock.
    let now = 0;
    if (samples.length) now = samples[samples.length - 1][0];
    if (decisions.length) now = Math.max(now, decisions[decisions.length - 1].ms);
    if (forecast && forecast.origin) now = Math.max(now, Date.parse(forecast.origin));
    if (!now) now = Date.now();
    // A system younger than the window gets the width its history has (at
    // least a minute), not a mostly empty chart.
    let first = now;
    if (samples.length) first = Math.min(first, samples[0][0]);
    if (decisions.length) first = Math.min(first, decisions[0].ms);
    const t0 = Math.max(now - windowMs, Math.min(first, now - 60e3));
    const span = now - t0;
    const inWindow = decisions.filter((x) => x.ms >= t0);
    // The forecast ahead gets at most a third of the window's width.
    const future = forecast ? (forecast.points || []).filter((p) => p.time)
      .map((p) => ({ ms: Date.parse(p.time), point: p.point, lo: p.lo, hi: p.hi }))
      .filter((p) => p.ms <= now + span / 3) : [];
    const past = inWindow.filter((x) => isNum(x.d.forecast_point)).map((x) => ({
      ms: x.ms + Math.max(1, x.d.lead_steps || 0) * step, point: x.d.forecast_point,
      lo: x.d.forecast_lo, hi: x.d.forecast_hi })).filter((p) => p.ms <= now + span / 3);
    const t1 = Math.max(now + span * 0.04, ...future.map((p) => p.ms),
      ...past.map((p) => p.ms));
    const shown = downsample(samples.filter(([t]) => t >= t0), 480, t0, now);
    // Capacity as a step line of the replicas each cycle saw; a cycle before
    // the window sets the level the window starts with.
    const capacity = [];
    for (const item of decisions) {
      const point = [Math.max(item.ms, t0), item.d.current * cpr];
      if (item.ms < t0) capacity[0] = point; else capacity.push(point);
    }
    if (isNum(system.replicas)) capacity.push([now, system.replicas * cpr]);

    const values = [isNum(cpr) && cpr > 0 ? cpr : 1];
    for (const [, v] of shown) if (isNum(v)) values.push(v);
    for (const p of past.concat(future)) for (const v of [p.point, p.hi]) if (isNum(v)) values.push(v);
    for (const [, v] of capacity) values.push(v);
    const yStep = niceStep(Math.max(...values) * 1.08, 5);
    const yMax = Math.ceil((Math.max(...values) * 1.08) / yStep) * yStep;
    const x = (t) => L + ((t - t0) / (t1 - t0)) * (W - L - R);
    const y = (v) => T + (1 - v / yMax) * (H - T - B);
    const fx = (t) => x(t).toFixed(1);
    const fy = (v) => y(v).toFixed(1);

    const chart = svg("svg", { class: "chart", viewBox: `0 0 ${W} ${H}`, role: "img",
      "aria-labelledby": "chart-svg-title chart-svg-desc", id: "system-chart",
      "data-samples": shown.length, "data-decisions": inWindow.filter((x) => x.changed).length });
    chart.append(svg("title", { id: "chart-svg-title" },
      `Demand, forecast and capacity of ${system.name}`));
    chart.append(svg("desc", { id: "chart-svg-desc" },
      chartSummary(system, shown, future, inWindow, span)));

    const grid = svg("g", { "aria-hidden": "true" });
    for (let v = 0; v <= yMax + 1e-9; v += yStep) {
      grid.append(svg("line", { class: "grid", x1: L, x2: W - R, y1: fy(v), y2: fy(v) }),
        svg("text", { class: "tick", x: L - 8, y: y(v) + 4, "text-anchor": "end" }, fmtNum(v)));
    }
    const tStep = kTimeSteps.find((s) => (t1 - t0) / s <= 8) || kTimeSteps[kTimeSteps.length - 1];
    for (let t = Math.ceil(t0 / tStep) * tStep; t <= t1; t += tStep) {
      grid.append(svg("line", { class: "grid", x1: fx(t), x2: fx(t), y1: T, y2: H - B }),
        svg("text", { class: "tick", x: fx(t), y: H - B + 18, "text-anchor": "middle" },
          clock(t, tStep < 60e3)));
    }
    grid.append(svg("line", { class: "axis", x1: L, x2: W - R, y1: H - B, y2: H - B }));
    chart.append(grid);

    const band = (points, cls) => {
      const ok = points.filter((p) => isNum(p.lo) && isNum(p.hi));
      if (ok.length < 2) return null;
      const top = ok.map((p) => `${fx(p.ms)},${fy(p.hi)}`);
      const bottom = ok.slice().reverse().map((p) => `${fx(p.ms)},${fy(p.lo)}`);
      return svg("polygon", { class: cls, points: top.concat(bottom).join(" ") });
    };
    const line = (points, cls) => {
      let d = "", pen = false;
      for (const [t, v] of points) {
        if (!isNum(v)) { pen = false; continue; }
        d += `${pen ? "L" : "M"}${fx(t)},${fy(v)}`;
        pen = true;
      }
      return d ? svg("path", { class: cls, d }) : null;
    };
    const steps = (points, cls) => {
      let d = "";
      for (const [i, [t, v]] of points.entries()) {
        d += i === 0 ? `M${fx(Math.max(t, t0))},${fy(v)}` : `H${fx(t)}V${fy(v)}`;
      }
      return points.length ? svg("path", { class: cls, d }) : null;
    };
    const series = svg("g", { "aria-hidden": "true" },
      band(past, "band"), band(future, "band"),
      line(past.map((p) => [p.ms, p.point]), "forecast"),
      line(future.map((p) => [p.ms, p.point]), "forecast"),
      steps(capacity, "capacity"),
      line(shown, "demand"),
      svg("line", { class: "now", x1: fx(now), x2: fx(now), y1: T - 6, y2: H - B }),
      svg("text", { class: "now-label", x: x(now) + 4, y: T - 10 }, "now"));
    if (shown.length === 0) {
      series.append(svg("text", { class: "empty", x: (L + W - R) / 2, y: H / 2,
        "text-anchor": "middle" }, "No demand samples in this window"));
    }
    chart.append(series);

    let lastLabel = -Infinity;
    for (const item of inWindow.filter((i) => i.changed)) {
      const px = x(item.ms);
      const label = `${item.from}→${item.d.desired}`;
      const g = svg("g", { class: "decision", "data-cycle": item.cycle.id },
        svg("title", {}, `${fmtWhen(item.ms)}: desired ${label} (${item.d.rule || "no rule"})`),
        svg("line", { x1: px.toFixed(1), x2: px.toFixed(1), y1: T, y2: H - B }),
        svg("circle", { cx: px.toFixed(1), cy: fy(item.d.desired * cpr), r: 4.5 }));
      if (px - lastLabel > 40) {
        g.append(svg("text", { x: px + 4, y: T + 10 }, label));
        lastLabel = px;
      }
      chart.append(g);
    }
    return chart;
  }

  // The chart in words, for screen readers and anyone who cannot see it.
  function chartSummary(system, shown, future, decisions, span) {
    const values = shown.map(([, v]) => v).filter(isNum);
    const parts = [span < 120e3 ? `Last ${Math.round(span / 1e3)} seconds.`
      : `Last ${Math.round(span / 60e3)} minutes.`];
    if (values.length) {
      parts.push(`Demand ranged from ${fmtNum(Math.min(...values))} to ` +
        `${fmtNum(Math.max(...values))}, latest ${fmtNum(values[values.length - 1])}.`);
    } else {
      parts.push("No demand samples.");
    }
    if (isNum(system.replicas)) {
      parts.push(`Capacity ${fmtNum(system.replicas * system.capacity_per_replica)} ` +
        `(${system.replicas} replicas of ${fmtNum(system.capacity_per_replica)}).`);
    }
    const end = future[future.length - 1];
    if (end && isNum(end.point)) {
      parts.push(`Forecast ${future.length} steps ahead: ${bandText(end.point, end.lo, end.hi)}.`);
    }
    const changes = decisions.filter((x) => x.changed);
    parts.push(changes.length ? `${changes.length} scale decision(s): ` + changes.map(
      (x) => `${fmtWhen(x.ms)} ${x.from} to ${x.d.desired}`).join("; ") + "."
      : "No scale decision.");
    return parts.join(" ");
  }

  // ---- scenarios: /#/scenarios --------------------------------------------------

  function scenariosView() {
    const filter = { level: "", event: "", system: "" };
    let body, exports;
    return {
      title: "Scenarios",
      mount(main) {
        const select = (id, label, options) => {
          const s = el("select", { id }, el("option", { value: "" }, "all"),
            options.map((o) => el("option", { value: o }, o.replace(/_/g, " "))));
          s.addEventListener("change", () => { filter[id] = s.value; refresh(); });
          return [el("label", { for: id }, label), s];
        };
        const system = el("input", { type: "text", id: "system", placeholder: "any system",
          size: 14, spellcheck: "false" });
        system.addEventListener("change", () => { filter.system = system.value.trim(); refresh(); });
        body = el("div", { id: "scenarios" });
        exports = el("p", { class: "toolbar" });
        append(main, el("h1", {}, "Scenarios"),
          el("p", { class: "muted" }, "Every decision cycle is recorded as a teaching scenario. " +
            "Open one as a lesson (HTML or Markdown, with its questions) or as its JSON document."),
          el("section", { class: "panel", "aria-labelledby": "scenarios-title" },
            el("div", { class: "panel-head" }, el("h2", { id: "scenarios-title" }, "Recorded scenarios"),
              el("div", { class: "toolbar", role: "group", "aria-label": "Filter" },
                select("level", "Level", kLevels), select("event", "Event", kEvents),
                el("label", { for: "system" }, "System"), system)),
            exports, body));
      },
      async load() {
        const query = new URLSearchParams();
        for (const [k, v] of Object.entries(filter)) if (v) query.set(k, v);
        const list = await api(`/api/v1/scenarios?limit=100&${query}`);
        return { scenarios: list.scenarios || [], query: query.toString() };
      },
      render({ scenarios, query }) {
        const q = query ? `&${query}` : "";
        exports.replaceChildren("Export everything that matches: ",
          apiLink(`/api/v1/scenarios/export?format=course-html${q}`, "course (HTML)", "course.html"),
          " · ", apiLink(`/api/v1/scenarios/export?format=html${q}`, "lessons (HTML)", "lessons.html"),
          " · ", apiLink(`/api/v1/scenarios/export?format=markdown${q}`, "lessons (Markdown)",
            "lessons.md"));
        body.replaceChildren(table("The newest 100 scenarios that match, newest first.",
          ["Time", "Scenario", "Level", "Events", "Systems", "Lesson"],
          scenarios.map((s) => {
            const ms = Date.parse(s.time);
            // The export selects by time; one cycle's scenario owns its millisecond.
            const one = `since=${ms}&until=${ms + 1}`;
            return el("tr", { "data-scenario": s.id },
              td(timeEl(s.time)),
              td(el("code", {}, s.id)),
              td(pill((s.level || "").replace(/_/g, " "), "neutral")),
              td((s.events || []).length ? (s.events || []).map((e) => [pill(e.replace(/_/g, " ")), " "])
                : el("span", { class: "muted" }, "quiet")),
              td((s.systems || []).map((n, i) => [i ? ", " : "", systemLink(n)])),
              el("td", { class: "nowrap" },
                apiLink(`/api/v1/scenarios/export?format=html&${one}`, "HTML", `${s.id}.html`), " · ",
                apiLink(`/api/v1/scenarios/export?format=markdown&${one}`, "Markdown", `${s.id}.md`),
                " · ", apiLink(`/api/v1/scenarios/${encodeURIComponent(s.id)}`, "JSON",
                  `${s.id}.json`)));
          }), "No scenario matches."));
      },
    };
  }

  function notFoundView() {
    return {
      title: "Not found",
      mount(main) {
        append(main, el("h1", {}, "Not found"), el("p", {}, "There is no such page. ",
          el("a", { href: "#/" }, "Back to the fleet"), "."));
      },
      async load() { return null; },
      render() {},
    };
  }

  // ---- routing, polling, token --------------------------------------------------

  function route() {
    const hash = location.hash || "#/";
    const system = /^#\/systems\/([^/]+)$/.exec(hash);
    if (system) {
      try { return { nav: "fleet", view: systemView(decodeURIComponent(system[1])) }; } catch (_) {
        return { nav: "", view: notFoundView() };
      }
    }
    if (hash === "#/scenarios") return { nav: "scenarios", view: scenariosView() };
    if (hash === "#/" || hash === "#") return { nav: "fleet", view: fleetView() };
    return { nav: "", view: notFoundView() };
  }

  let current = null;
  let generation = 0;
  let timer = null;
  let waitingForToken = false;

  function navigate() {
    generation += 1;
    const { nav, view } = route();
    for (const link of document.querySelectorAll("[data-nav]")) {
      if (link.dataset.nav === nav) link.setAttribute("aria-current", "page");
      else link.removeAttribute("aria-current");
    }
    document.title = `${view.title} · PSO-PRIME`;
    const main = $("view");
    main.replaceChildren();
    view.mount(main);
    current = view;
    refresh();
  }

  async function refresh() {
    clearTimeout(timer);
    const gen = generation;
    const view = current;
    // Status needs no token, so the header names the controller even while
    // the page waits for one.
    const status = optional("/api/v1/status").then((s) => {
      if (!s || gen !== generation) return;
      $("controller-id").textContent = s.controller_id;
      $("version").textContent = `pso-controller ${s.version}`;
    }).catch(() => {});
    try {
      const data = await view.load();
      await status;
      if (gen !== generation) return;
      hideAuth();
      $("error").hidden = true;
      view.render(data);
      $("updated").textContent = `updated ${clock(Date.now(), true)}`;
    } catch (e) {
      if (gen !== generation) return;
      if (e instanceof AuthRequired) { showAuth(e); return; }
      showError(e.message);
    }
    schedule();
  }

  function schedule() {
    clearTimeout(timer);
    const seconds = Number($("refresh").value);
    if (seconds > 0 && !waitingForToken) timer = setTimeout(refresh, seconds * 1000);
  }

  function showError(message) {
    const banner = $("error");
    banner.textContent = message;
    banner.hidden = false;
  }

  function showAuth(error) {
    waitingForToken = true;
    $("error").hidden = true;
    $("view").hidden = true;
    $("auth").hidden = false;
    $("auth-reason").textContent = token()
      ? `The token was refused: ${error.message}. Enter a token with the read or operate role.`
      : `Reading the fleet's state requires a bearer token with the read or operate role ` +
        `(the controller answered: ${error.message}).`;
    $("token").focus();
  }

  function hideAuth() {
    waitingForToken = false;
    $("auth").hidden = true;
    $("view").hidden = false;
    $("forget-token").hidden = !token();
  }

  function start() {
    const refreshSelect = $("refresh");
    refreshSelect.value = localStorage.getItem(kRefreshKey) || "5";
    if (!refreshSelect.value) refreshSelect.value = "5";
    refreshSelect.addEventListener("change", () => {
      localStorage.setItem(kRefreshKey, refreshSelect.value);
      schedule();
    });
    $("auth-form").addEventListener("submit", (event) => {
      event.preventDefault();
      const value = $("token").value.trim();
      // A header value must be visible ASCII; anything else is no token.
      if (!/^[\x21-\x7e]+$/.test(value)) {
        $("auth-reason").textContent = "A token is printable ASCII without spaces.";
        return;
      }
      sessionStorage.setItem(kTokenKey, value);
      $("token").value = "";
      hideAuth();
      refresh();
    });
    $("forget-token").addEventListener("click", () => {
      sessionStorage.removeItem(kTokenKey);
      $("forget-token").hidden = true;
      refresh();
    });
    document.querySelector(".skip").addEventListener("click", (event) => {
      event.preventDefault();
      $("view").focus();
    });
    window.addEventListener("hashchange", navigate);
    navigate();
  }

  start();
})();
