// The hero_agent dashboard: loads /api/dashboard for the chosen user and window, draws the
// tiles, charts and tables, and refreshes in place every few seconds while the tab is
// visible. The filters live in the page's query string (`user_sid`, `days`), so a view can be
// bookmarked or shared; `refresh` sets the interval in seconds (default 15, at least 2).
// When the server demands a token (401), the page asks for one, keeps it in this tab's
// sessionStorage and sends it as `Authorization: Bearer` with every API call.

import { PALETTE, dailyBars, donut, durations, fmt, hbars, legend, node } from "./charts.js";

const REFRESH_MS = refreshInterval(new URLSearchParams(window.location.search).get("refresh"));
const WINDOWS = ["", "1", "7", "30", "90"];
const CATEGORIES = ["fact", "preference", "context", "skill"];
const CATEGORY_COLORS = { fact: "#4e79a7", preference: "#f28e2b", context: "#76b7b2", skill: "#59a14f" };
const OK_COLOR = "#4e79a7";
const FAILED_COLOR = "#e15759";
const RATE_COLOR = "#2f7d32";
const DURATION_COLOR = "#b07aa1";
const MAX_DURATION_ROWS = 12;
const TOKEN_KEY = "osis.token";

const state = {
  user: "",
  days: "",
  data: null,
  loadedAt: 0,
  seq: 0,
  timer: 0,
  controller: null,
  modelColors: new Map(),
};

const $ = (selector) => document.querySelector(selector);

function refreshInterval(text) {
  const seconds = Number(text);
  return Number.isFinite(seconds) && seconds > 0 ? Math.min(3600, Math.max(2, seconds)) * 1000 : 15000;
}

// -- filters and the query string --------------------------------------------------------

function readLocation() {
  const params = new URLSearchParams(window.location.search);
  state.user = params.get("user_sid") || "";
  const days = params.get("days") || "";
  state.days = WINDOWS.includes(days) ? days : "";
}

function writeLocation() {
  const params = new URLSearchParams(window.location.search);
  for (const [key, value] of [["user_sid", state.user], ["days", state.days]]) {
    if (value) params.set(key, value);
    else params.delete(key);
  }
  const query = params.toString();
  window.history.replaceState(null, "", query ? `?${query}` : window.location.pathname);
}

function setFilters(changes) {
  Object.assign(state, changes);
  writeLocation();
  showFilters();
  load();
}

function showFilters() {
  for (const button of document.querySelectorAll("#window button")) {
    button.setAttribute("aria-checked", String(button.dataset.days === state.days));
  }
  const select = $("#user");
  if (![...select.options].some((o) => o.value === state.user)) addOption(select, state.user);
  select.value = state.user;
}

function addOption(select, value, text = value) {
  const option = document.createElement("option");
  option.value = value;
  option.textContent = text;
  select.append(option);
}

function windowText() {
  if (!state.days) return "all time";
  return state.days === "1" ? "today" : `last ${state.days} days`;
}

// -- loading -----------------------------------------------------------------------------

async function load() {
  window.clearTimeout(state.timer);
  const seq = ++state.seq;
  state.controller?.abort();
  const controller = new AbortController();
  state.controller = controller;
  setStatus("busy", "Refreshing…");
  const query = new URLSearchParams();
  if (state.user) query.set("user_sid", state.user);
  if (state.days) query.set("days", state.days);
  const token = window.sessionStorage.getItem(TOKEN_KEY);
  const headers = { Accept: "application/json" };
  if (token) headers.Authorization = `Bearer ${token}`;
  let retry = true;
  try {
    const response = await fetch(`/api/dashboard?${query}`, { signal: controller.signal, headers });
    const body = await response.json().catch(() => null);
    if (response.status === 401 && seq === state.seq) {
      // A wrong or revoked token is forgotten; the next one typed is tried at once.
      window.sessionStorage.removeItem(TOKEN_KEY);
      retry = false;
      askForToken(token ? "That token was refused (wrong or revoked). Try another one." : "");
      return;
    }
    if (!response.ok) throw new Error(body?.error || `the server answered ${response.status}`);
    if (seq !== state.seq) return; // a newer request has been made meanwhile
    state.data = body;
    state.loadedAt = Date.now();
    render(body);
    document.body.dataset.state = "ready";
    $("#token-form").hidden = true;
    document.body.dataset.generatedAt = body.generated_at;
    setStatus("ok", `Updated ${body.generated_at.slice(11, 19)} UTC`);
  } catch (error) {
    if (error.name === "AbortError" || seq !== state.seq) return;
    setStatus("error", "Refresh failed");
    const kept = state.data ? ` Still showing the numbers of ${state.data.generated_at.slice(11, 19)} UTC.` : "";
    banner(`Could not load the dashboard: ${error.message}.${kept} Retrying in ${REFRESH_MS / 1000} s.`);
    if (!state.data) document.body.dataset.state = "error";
  } finally {
    if (retry && seq === state.seq) state.timer = window.setTimeout(tick, REFRESH_MS);
  }
}

function askForToken(problem) {
  setStatus("error", "Token needed");
  banner("");
  document.body.dataset.state = "auth";
  $("#token-form").hidden = false;
  $("#token-error").textContent = problem;
  $("#token-error").hidden = !problem;
  $("#token").value = "";
  $("#token").focus();
}

function useToken(event) {
  event.preventDefault();
  const token = $("#token").value.trim();
  if (!token) return;
  window.sessionStorage.setItem(TOKEN_KEY, token);
  $("#token-form").hidden = true;
  document.body.dataset.state = "loading";
  load();
}

function tick() {
  // A hidden tab does not poll; it catches up as soon as it is shown again.
  if (document.hidden) return;
  load();
}

function setStatus(kind, text) {
  $("#status").className = `status ${kind}`;
  $("#status-text").textContent = text;
}

// Shows `content` (text or a node) above the tiles; an empty string hides the banner.
function banner(content, kind = "error") {
  const element = $("#banner");
  element.className = `banner ${kind}`;
  element.replaceChildren();
  if (content) element.append(content);
  element.hidden = !content;
}

// -- rendering ---------------------------------------------------------------------------

function render(data) {
  const { stats, usage } = data;
  banner("");
  const isEmpty = !stats.tool_calls && !usage.totals.calls && !stats.memories && !stats.conversations;
  if (isEmpty && !state.user) {
    const hint = document.createElement("code");
    hint.textContent = "make demo";
    const message = document.createElement("span");
    message.append("This store holds no agent activity yet. Run ", hint,
      " to load a few weeks of synthetic activity, or point hero_agent at this server.");
    banner(message, "info");
  }
  renderTiles(stats);
  renderUsers(data.users);
  const dates = usage.daily.map((d) => d.date);
  renderToolCalls(dates, stats.tool_calls_daily);
  renderTopTools(stats);
  assignModelColors(usage.by_model.map((m) => m.model).concat(stats.top_models.map((m) => m.model)));
  renderTokens(dates, usage);
  renderTopModels(stats);
  renderDurations(stats.tools);
  renderMemories(stats.memories_by_category);
}

const FORMATS = { int: fmt.int, pct: fmt.pct, ms: fmt.ms };

function renderTiles(stats) {
  const failed = stats.tool_calls_daily.reduce((sum, d) => sum + d.calls - d.successes, 0);
  for (const tile of document.querySelectorAll(".tile[data-stat]")) {
    const value = stats[tile.dataset.stat];
    tile.dataset.value = String(value);
    tile.querySelector(".value").textContent = FORMATS[tile.dataset.format](value);
    tile.title = `${tile.querySelector(".label").textContent}: ${value}`;
  }
  for (const note of document.querySelectorAll('[data-note="window"]')) note.textContent = windowText();
  $('[data-note="failed"]').textContent = `${fmt.int(failed)} failed`;
}

function renderUsers(users) {
  const select = $("#user");
  const known = new Set(users.map((u) => u.user_sid));
  select.replaceChildren();
  addOption(select, "", "All users");
  for (const sid of [...known].sort()) addOption(select, sid);
  showFilters();

  const total = users.reduce((sum, u) => sum + u.total_tokens, 0) || 1;
  const rows = users.map((u) => {
    const row = document.createElement("tr");
    row.dataset.user = u.user_sid;
    if (u.user_sid === state.user) row.className = "selected";
    row.title = state.user === u.user_sid ? "Show every user" : `Show only ${u.user_sid}`;
    const cells = [u.user_sid, fmt.int(u.total_tokens), fmt.int(u.calls)].map((text, i) => {
      const cell = document.createElement("td");
      cell.textContent = text;
      if (i) cell.className = "num";
      return cell;
    });
    const share = document.createElement("td");
    share.className = "share";
    const svg = node("svg", { width: "100%", height: 10, viewBox: "0 0 100 10", preserveAspectRatio: "none" });
    node("rect", { x: 0, y: 1, width: 100, height: 8, rx: 2, fill: "#f2f3f6" }, svg);
    node("rect", { x: 0, y: 1, width: (u.total_tokens / total) * 100, height: 8, rx: 2, fill: OK_COLOR }, svg);
    share.append(svg);
    row.append(...cells, share);
    return row;
  });
  if (!rows.length) {
    const row = document.createElement("tr");
    const cell = document.createElement("td");
    cell.colSpan = 4;
    cell.className = "hint";
    cell.textContent = "No token usage in this window.";
    row.append(cell);
    rows.push(row);
  }
  $("#users tbody").replaceChildren(...rows);
}

function renderToolCalls(dates, daily) {
  const byDate = new Map(daily.map((d) => [d.date, d]));
  const at = (i) => byDate.get(dates[i]) || { calls: 0, successes: 0 };
  const ok = dates.map((_, i) => at(i).successes);
  const failed = dates.map((_, i) => at(i).calls - at(i).successes);
  const rate = dates.map((_, i) => (at(i).calls ? at(i).successes / at(i).calls : null));
  legend($("#legend-calls"), [
    { name: "Succeeded", color: OK_COLOR },
    { name: "Failed", color: FAILED_COLOR },
    { name: "Success rate", color: RATE_COLOR, kind: "line" },
  ]);
  dailyBars($("#chart-calls"), {
    dates,
    stacks: [{ name: "Succeeded", color: OK_COLOR, values: ok }, { name: "Failed", color: FAILED_COLOR, values: failed }],
    line: { name: "Success rate", color: RATE_COLOR, values: rate },
    label: "Tool calls per day, succeeded and failed, with the success rate",
    describe: (i) => {
      const { calls, successes } = at(i);
      const share = calls ? ` · ${fmt.pct(successes / calls)} succeeded` : "";
      return `${fmt.weekday(dates[i])}: ${fmt.int(calls)} calls (${fmt.int(calls - successes)} failed)${share}`;
    },
  });
}

function renderTopTools(stats) {
  const rates = new Map(stats.tools.map((t) => [t.tool_name, t.success_rate]));
  hbars($("#chart-top-tools"), stats.top_tools.map((t) => ({
    label: t.tool_name,
    value: t.count,
    text: fmt.int(t.count),
    color: OK_COLOR,
    title: `${t.tool_name}: ${fmt.int(t.count)} calls, ${fmt.pct(rates.get(t.tool_name) ?? 0)} succeeded`,
  })), { label: "The most called tools" });
}

function assignModelColors(models) {
  // A model keeps its colour across refreshes and filters; new models take the next one.
  for (const model of models) {
    if (!state.modelColors.has(model)) {
      state.modelColors.set(model, PALETTE[state.modelColors.size % PALETTE.length]);
    }
  }
}

function renderTokens(dates, usage) {
  const models = usage.by_model.map((m) => m.model);
  const cells = new Map(usage.daily_by_model.map((r) => [`${r.date}|${r.model}`, r]));
  const stacks = models.map((model) => ({
    name: model,
    color: state.modelColors.get(model),
    values: dates.map((d) => cells.get(`${d}|${model}`)?.total_tokens || 0),
  }));
  legend($("#legend-tokens"), stacks.map((s) => ({ name: s.name, color: s.color })));
  dailyBars($("#chart-tokens"), {
    dates,
    stacks,
    label: "Tokens per model per day",
    describe: (i) => {
      const day = usage.daily[i];
      const lines = stacks.filter((s) => s.values[i]).map((s) => `  ${s.name}: ${fmt.int(s.values[i])}`);
      return [`${fmt.weekday(dates[i])}: ${fmt.int(day.total_tokens)} tokens in ${fmt.int(day.calls)} calls`, ...lines]
        .join("\n");
    },
  });
}

function renderTopModels(stats) {
  hbars($("#chart-top-models"), stats.top_models.map((m) => ({
    label: m.model,
    value: m.total_tokens,
    text: fmt.compact(m.total_tokens),
    color: state.modelColors.get(m.model),
    title: `${m.model}: ${fmt.int(m.total_tokens)} tokens`,
  })), { label: "The models that used the most tokens" });
}

function renderDurations(tools) {
  legend($("#legend-durations"), [
    { name: "median (p50)", color: DURATION_COLOR },
    { name: "p95", color: `${DURATION_COLOR}4d` },
  ]);
  durations($("#chart-durations"), tools.slice(0, MAX_DURATION_ROWS).map((t) => ({
    label: t.tool_name,
    p50: t.p50_duration_ms,
    p95: t.p95_duration_ms,
    title: `${t.tool_name}: ${fmt.int(t.calls)} calls · p50 ${fmt.ms(t.p50_duration_ms)} · `
      + `p95 ${fmt.ms(t.p95_duration_ms)} · avg ${fmt.ms(t.avg_duration_ms)} · ${fmt.pct(t.success_rate)} succeeded`,
  })), { label: "Median and 95th percentile duration of the most called tools", color: DURATION_COLOR });
}

function renderMemories(byCategory) {
  const counts = new Map(byCategory.map((c) => [c.category, c.count]));
  donut($("#chart-memories"), CATEGORIES.map((category) => ({
    label: category,
    value: counts.get(category) || 0,
    color: CATEGORY_COLORS[category],
  })), { label: "Memories by category" });
}

// -- wiring ------------------------------------------------------------------------------

function start() {
  readLocation();
  $("#refresh-seconds").textContent = String(REFRESH_MS / 1000);
  showFilters();
  $("#token-form").addEventListener("submit", useToken);
  $("#user").addEventListener("change", (event) => setFilters({ user: event.target.value }));
  for (const button of document.querySelectorAll("#window button")) {
    button.addEventListener("click", () => setFilters({ days: button.dataset.days }));
  }
  $("#users tbody").addEventListener("click", (event) => {
    const row = event.target.closest("tr[data-user]");
    if (row) setFilters({ user: state.user === row.dataset.user ? "" : row.dataset.user });
  });
  document.addEventListener("visibilitychange", () => {
    if (!document.hidden && Date.now() - state.loadedAt >= REFRESH_MS) load();
  });
  let resizing = 0;
  window.addEventListener("resize", () => {
    window.clearTimeout(resizing);
    resizing = window.setTimeout(() => state.data && render(state.data), 150);
  });
  load();
}

start();
