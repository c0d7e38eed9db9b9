// The viewer's shell: the runs list, the selected run's header and live stream, and the routes
//   #<run>                 the research board        #<run>/log   the transcript
//   #<run>/idea/<idea>     an idea's page            #compare/<run>/<idea>,<run>,...   the compare view
"use strict";
import { $, el, fmtInt, money, duration, when, getJSON, runPath, statusBadge, debounce } from "./util.js";
import { current, freshRun, FINAL } from "./state.js";
import { resetLog, loadTail, queueRecord, flush, scrollToEnd, wireLog } from "./log.js";
import { applyBoard, renderBoard, wireBoard, picked } from "./board.js";
import { openIdea, ideaShown, refreshSoon } from "./idea.js";
import { openCompareView, compareHash } from "./compare.js";

let runsCache = [];
const TRACES = new Set(["output", "model_call", "sandbox_exec", "handled", "log"]); // no news for an idea's page
const drawBoard = debounce(() => { renderBoard(); renderHead(); }, 100);

// ---- runs list -------------------------------------------------------------------------------------------
async function loadRuns() {
  try {
    runsCache = await getJSON("/api/runs");
  } catch (e) {
    return;
  }
  const box = $("runs");
  $("runs-count").textContent = runsCache.length ? String(runsCache.length) : "";
  if (!runsCache.length) {
    box.replaceChildren(el("div", { class: "empty-side", text: "No runs yet. Start one with `sciswarm run`." }));
    return;
  }
  box.querySelector(".empty-side")?.remove();
  const keep = new Set(runsCache.map((r) => r.id));
  for (const b of box.querySelectorAll(".run")) if (!keep.has(b.dataset.run)) b.remove();
  const run = current.run;
  runsCache.forEach((r, i) => { // update in place: rebuilding would swallow clicks in progress
    let b = box.querySelector(`.run[data-run="${CSS.escape(r.id)}"]`);
    if (!b) {
      b = el("button", { class: "run", type: "button", "data-run": r.id, onclick: () => { location.hash = encodeURIComponent(r.id); } },
        el("div", { class: "top" }, el("span", { class: "name" }), el("span", { class: "badge" })),
        el("div", { class: "rid", text: r.id }),
        el("div", { class: "meta" }));
    }
    if (box.children[i] !== b) box.insertBefore(b, box.children[i] || null);
    b.title = r.reason || r.id;
    b.classList.toggle("active", !!run && run.id === r.id);
    b.querySelector(".name").textContent = r.name;
    statusBadge(b.querySelector(".badge"), r.status, r.stale);
    b.querySelector(".meta").textContent =
      `${fmtInt.format(r.messages)} msgs · ${fmtInt.format(r.tokens)} tok · ${money(r.cost)} · ${when(r.started_at)}`;
  });
  if (run && !run.ended) {
    const mine = runsCache.find((r) => r.id === run.id);
    if (mine && mine.stale) { run.stale = true; renderHead(); }
  }
  if (!location.hash && runsCache.length) location.hash = encodeURIComponent(runsCache[0].id);
}

// ---- the selected run ------------------------------------------------------------------------------------
async function openRun(id) {
  const my = ++current.gen;
  if (current.run && current.run.es) current.run.es.close();
  const run = current.run = freshRun(id);
  run.stale = !!(runsCache.find((r) => r.id === id) || {}).stale;
  document.querySelectorAll(".run").forEach((b) => b.classList.toggle("active", b.dataset.run === id));
  resetLog();
  $("board-rows").replaceChildren();
  $("tab-idea").hidden = true;
  setLive("loading…", "");
  const boardAsked = getJSON(`${runPath(id)}/board`).catch(() => null); // both at once: the board is the first paint
  try {
    run.meta = await getJSON(runPath(id));
  } catch (e) {
    if (my !== current.gen) return;
    $("run-name").textContent = `Run ${id} not found`;
    $("log").replaceChildren(el("div", { class: "placeholder", text: `Run ${id} not found.` }));
    setLive("", "err");
    return;
  }
  if (my !== current.gen) return;
  renderHead();
  const board = await boardAsked;
  if (my !== current.gen || !board) return;
  applyBoard(run, board, true);
  renderBoard();
  renderHead();
  if (!(await loadTail(run, my))) return;
  if (!$("log-view").hidden) scrollToEnd();
  connect(run, my);
}

function connect(run, my) {
  const es = new EventSource(`${runPath(run.id)}/stream?after=${run.next}&board=1`);
  run.es = es;
  es.onopen = () => { if (my === current.gen) setLive("live", "on"); };
  es.onmessage = (ev) => {
    if (my !== current.gen) return;
    const r = JSON.parse(ev.data);
    queueRecord(r);
    if (r.idea_id && r.idea_id === ideaShown() && !TRACES.has(r.kind)) refreshSoon();
  };
  es.addEventListener("board", (ev) => {
    if (my !== current.gen) return;
    const data = JSON.parse(ev.data);
    applyBoard(run, data, data.full);
    if (ideaShown() && (data.ideas || []).some((c) => c.id === ideaShown())) refreshSoon();
    drawBoard();
  });
  es.addEventListener("end", async (ev) => {
    es.close();
    if (my !== current.gen) return;
    flush();
    const info = JSON.parse(ev.data);
    run.ended = true;
    setLive(info.status === "unknown" ? "process gone" : "finished", "");
    try { run.meta = await getJSON(runPath(run.id)); } catch (e) { /* keep the old */ }
    if (my !== current.gen) return;
    if (info.status === "unknown") run.stale = true;
    renderHead();
    loadRuns();
    if (ideaShown()) refreshSoon();
  });
  es.onerror = () => { if (my === current.gen && !run.ended) setLive("reconnecting…", "err"); };
}

function setLive(text, cls) {
  $("live").textContent = text;
  $("live").className = cls;
}

function renderHead() {
  const run = current.run;
  if (!run) return;
  const m = run.meta || {}, t = run.totals;
  const status = t.status || run.boardStatus || m.status || "unknown";
  const final = FINAL.has(status) && FINAL.has(m.status);
  $("run-name").textContent = m.name || run.id;
  statusBadge($("run-status"), status, run.stale && !FINAL.has(status));
  const started = m.started_at ? `started ${when(m.started_at)}` : "";
  const reason = FINAL.has(status) && m.reason ? ` · ${m.reason}` : "";
  $("run-sub").replaceChildren(el("code", { text: run.id }), ` · ${started}${reason}`);
  const total = (m.totals && m.totals.total) || null;
  const useMeta = final && total; // run.json totals are authoritative once the run is over
  $("st-messages").textContent = fmtInt.format(useMeta && m.messages != null ? m.messages : t.messages);
  $("st-tokens").textContent = fmtInt.format(useMeta ? total.tokens || 0 : t.tokens);
  $("st-cost").textContent = money(useMeta ? total.cost_usd || 0 : t.cost);
  $("scripted").hidden = !t.scripted;
  $("st-calls").textContent = fmtInt.format(useMeta ? total.calls || 0 : t.calls);
  $("st-ideas").textContent = String(run.cards.size);
  let elapsed = null;
  if (m.started_at) {
    if (final && m.ended_at) elapsed = m.ended_at - m.started_at;
    else if (FINAL.has(status) || run.stale) elapsed = (run.lastTs || m.started_at) - m.started_at;
    else elapsed = Date.now() / 1000 - m.started_at;
  }
  $("st-elapsed").textContent = duration(elapsed);
}

// ---- routes ----------------------------------------------------------------------------------------------
function show(view) {
  for (const v of ["board", "log", "idea", "compare"]) {
    $(`${v}-view`).hidden = v !== view;
    $(`tab-${v}`).classList.toggle("active", v === view);
  }
  document.body.dataset.view = view;
}

function route() {
  const raw = location.hash.slice(1);
  if (raw.startsWith("compare")) {
    const keys = raw.slice("compare/".length).split(",").filter(Boolean).map((k) => k.split("/").map(decodeURIComponent).join("/"));
    show("compare");
    $("tab-compare").href = location.hash;
    openCompareView(keys, runsCache);
    return;
  }
  const [runPart, sub, ideaPart] = raw.split("/");
  const id = decodeURIComponent(runPart || "");
  if (!id) return;
  if (!current.run || current.run.id !== id) openRun(id);
  const base = `#${encodeURIComponent(id)}`;
  $("tab-board").href = base;
  $("tab-log").href = `${base}/log`;
  $("tab-compare").href = compareHash([...picked]);
  if (sub === "idea" && ideaPart) {
    const idea = decodeURIComponent(ideaPart);
    $("tab-idea").hidden = false;
    $("tab-idea").href = location.hash;
    $("tab-idea").textContent = `idea: ${idea}`;
    show("idea");
    openIdea(id, idea);
  } else if (sub === "log") {
    show("log");
    scrollToEnd();
  } else {
    show("board");
  }
}

wireLog();
wireBoard((keys) => { location.hash = compareHash(keys); });
window.addEventListener("hashchange", route);
setInterval(() => { if (current.run && !current.run.ended) renderHead(); }, 1000);
setInterval(() => { if (ideaShown() && current.run && !current.run.ended) refreshSoon(); }, 5000); // files without records
setInterval(loadRuns, 3000);
if (location.hash.length > 1) { route(); loadRuns(); } else loadRuns().then(route); // a link to a run: no waiting for the list
