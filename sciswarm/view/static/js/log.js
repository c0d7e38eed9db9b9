// The transcript view: every record as a row (the last few thousand; earlier ones on demand), live.
"use strict";
import { $, el, clock, fmtInt, roleColor, fileUrl, runPath, getJSON, decisionChip, noveltyChip, chip } from "./util.js";
import { current } from "./state.js";

const DIM = new Set(["model_call", "sandbox_exec", "output", "handled"]);
const TAIL = 2000;
const logEl = () => $("log");
let view = { rows: 0, ideas: new Set(), unseen: 0, pinned: true, autoTop: 0, pending: [], timer: 0 };

export function resetLog() {
  if (view.timer) clearTimeout(view.timer);
  view = { rows: 0, ideas: new Set(), unseen: 0, pinned: true, autoTop: 0, pending: [], timer: 0 };
  $("idea-filter").replaceChildren(el("option", { value: "", text: "all ideas" }));
  $("idea-style").textContent = "";
  $("earlier").hidden = true;
  logEl().replaceChildren();
}

// The last TAIL records, from the line index: quick on a run of any length.
export async function loadTail(run, my) {
  const page = await getJSON(`${runPath(run.id)}/events?tail=${TAIL}&limit=${TAIL}`);
  if (my !== current.gen) return false;
  run.first = page.first;
  addRecords(page.events, false);
  run.next = Math.max(run.next, page.next);
  $("earlier").hidden = run.first === 0;
  if (!logEl().children.length) logEl().append(el("div", { class: "placeholder", id: "no-records", text: "No messages yet." }));
  return true;
}

async function loadEarlier() {
  const run = current.run, my = current.gen;
  if (!run || run.first === 0) return;
  const from = Math.max(0, run.first - TAIL);
  const page = await getJSON(`${runPath(run.id)}/events?after=${from}&limit=${run.first - from}`);
  if (my !== current.gen) return;
  const keep = logEl().scrollHeight - logEl().scrollTop;
  const frag = document.createDocumentFragment();
  for (const r of page.events) if (r._seq < run.first) { frag.append(renderRow(r)); view.rows += 1; noteIdea(r.idea_id); }
  logEl().prepend(frag);
  run.first = from;
  $("earlier").hidden = from === 0;
  logEl().scrollTop = logEl().scrollHeight - keep;
  updateCount();
}

// Records of the live stream: batched into one DOM update per 50 ms (experiment output comes in bursts).
export function queueRecord(r) {
  view.pending.push(r);
  if (!view.timer) view.timer = setTimeout(flush, 50);
}
export function flush() {
  if (view.timer) { clearTimeout(view.timer); view.timer = 0; }
  addRecords(view.pending.splice(0));
}

export function addRecords(records, live = true) {
  const run = current.run;
  if (!run || !records.length) return;
  const frag = document.createDocumentFragment();
  let added = 0;
  for (const r of records) {
    if (typeof r._seq === "number") {
      if (r._seq < run.next) continue; // already have it (reconnect)
      run.next = r._seq + 1;
    }
    noteIdea(r.idea_id);
    frag.append(renderRow(r));
    added += 1;
  }
  if (!added) return;
  $("no-records")?.remove();
  logEl().append(frag);
  view.rows += added;
  updateCount();
  if (!live) return;
  if ($("follow").checked && view.pinned) scrollToEnd();
  else {
    view.unseen += added;
    $("jump").textContent = `↓ ${view.unseen} new`;
    $("jump").classList.add("show");
  }
}

function renderRow(r) {
  const kind = String(r.kind || "?");
  const idea = String(r.idea_id || "swarm");
  const sender = String(r.sender || "swarm");
  let cls = `row k-${kind.replace(/[^\w-]/g, "_")}`;
  if (DIM.has(kind)) cls += " trace";
  if (kind === "log") cls += ` lvl-${r.level || "info"}`;
  if (kind === "output" && r.stream === "stderr") cls += " stderr";
  const summary = el("div", { class: "summary", text: r.summary || "", title: "click for the full record" });
  const body = el("div", { class: "body" }, summary);
  const extras = renderExtras(r);
  if (extras) body.append(extras);
  const ideaCell = idea === "swarm"
    ? el("span", { class: "idea swarm", text: idea })
    : el("a", { class: "idea", text: idea, title: `open ${idea}`, href: `#${encodeURIComponent(current.run.id)}/idea/${encodeURIComponent(idea)}` });
  const row = el("div", { class: cls, "data-idea": idea, "data-kind": kind },
    el("time", { text: clock(r.ts), title: r.ts ? new Date(r.ts * 1000).toLocaleString() : "" }),
    el("span", { class: "sender", text: sender, style: `--c:${roleColor(sender)}`, title: sender }),
    ideaCell,
    el("span", { class: "kind" }, el("span", { text: kind, title: kind })),
    body);
  summary.addEventListener("click", () => {
    const open = row.classList.toggle("open");
    const pre = body.querySelector("pre.json");
    if (!open) { if (pre) pre.remove(); return; }
    const clean = Object.fromEntries(Object.entries(r).filter(([k]) => !k.startsWith("_")));
    body.append(el("pre", { class: "json", text: JSON.stringify(clean, null, 2) }));
  });
  const q = $("search").value.trim().toLowerCase();
  if (q && !matches(row, q)) row.classList.add("nomatch");
  return row;
}

function renderExtras(r) {
  const items = [];
  for (const a of Array.isArray(r._artifacts) ? r._artifacts : []) {
    const href = fileUrl(current.run.id, a.path);
    if (a.type === "image") {
      items.push(el("a", { class: "thumb", href, target: "_blank", rel: "noopener", title: a.caption || a.label },
        el("img", { src: href, alt: a.label, loading: "lazy", onload: keepFollowing }), el("span", { text: a.label })));
    } else {
      items.push(el("a", { class: "chip" + (a.type === "pdf" ? " pdf" : ""), href, target: "_blank", rel: "noopener",
        text: a.type === "pdf" ? a.path.split("/").pop() : a.label }));
    }
  }
  if ((r.kind === "meta_review" || r.kind === "review") && r.review && typeof r.review === "object") {
    items.unshift(decisionChip(r.review, r.kind === "review" ? "" : "Overall "));
  }
  if (r.kind === "paper" && (r.pages || r.citations)) {
    items.push(chip(`${r.pages || 0} pages · ${r.citations || 0} citations`));
  }
  if (r.kind === "novelty" && r.verdict) items.unshift(noveltyChip(r.verdict));
  return items.length ? el("div", { class: "extras" }, ...items) : null;
}

function noteIdea(idea) {
  if (!idea || idea === "swarm" || view.ideas.has(idea)) return;
  view.ideas.add(idea);
  $("idea-filter").append(el("option", { value: idea, text: idea }));
}

const matches = (row, q) => row.textContent.toLowerCase().includes(q);

function keepFollowing() {
  if (view.pinned && $("follow").checked) scrollToEnd(1);
}

export function applyFilters() {
  const pinned = view.pinned;
  logEl().classList.toggle("hide-traces", !$("show-traces").checked);
  const idea = $("idea-filter").value;
  $("idea-style").textContent = idea ? `#log .row:not([data-idea="${CSS.escape(idea)}"]) { display: none; }` : "";
  const q = $("search").value.trim().toLowerCase();
  for (const row of logEl().querySelectorAll(".row")) row.classList.toggle("nomatch", !!q && !matches(row, q));
  updateCount();
  if (pinned) scrollToEnd();
}

function updateCount() {
  const run = current.run;
  if (!run) return;
  const traces = logEl().querySelectorAll(".row.trace").length;
  const idea = $("idea-filter").value, showTraces = $("show-traces").checked;
  const earlier = run.first ? ` (from line ${fmtInt.format(run.first)})` : "";
  let text = `${fmtInt.format(view.rows)} records · ${fmtInt.format(traces)} traces${earlier}`;
  if (idea || $("search").value.trim() || !showTraces) {
    const visible = [...logEl().querySelectorAll(".row")].filter((r) =>
      !r.classList.contains("nomatch") && (showTraces || !r.classList.contains("trace")) && (!idea || r.dataset.idea === idea)
    ).length;
    text = `${fmtInt.format(visible)} shown of ${fmtInt.format(view.rows)}`;
  }
  $("count").textContent = text;
}

export function scrollToEnd(retries = 3) {
  const log = logEl();
  log.scrollTop = log.scrollHeight;
  Object.assign(view, { unseen: 0, pinned: true, autoTop: log.scrollTop });
  $("jump").classList.remove("show");
  // off-screen rows are laid out lazily (content-visibility): the end may move once they render
  if (retries > 0) requestAnimationFrame(() => {
    if (view.pinned && log.scrollHeight - log.scrollTop - log.clientHeight > 2) scrollToEnd(retries - 1);
  });
}

export function wireLog() {
  $("show-traces").checked = localStorage.getItem("sciswarm.traces") !== "0";
  $("show-traces").addEventListener("change", () => {
    localStorage.setItem("sciswarm.traces", $("show-traces").checked ? "1" : "0");
    applyFilters();
  });
  $("idea-filter").addEventListener("change", applyFilters);
  let searchTimer = 0;
  $("search").addEventListener("input", () => { clearTimeout(searchTimer); searchTimer = setTimeout(applyFilters, 150); });
  $("jump").addEventListener("click", () => scrollToEnd());
  $("earlier").addEventListener("click", loadEarlier);
  logEl().addEventListener("scroll", () => {
    const log = logEl();
    if (log.scrollTop < view.autoTop - 2) view.pinned = false; // the reader scrolled up: stop following
    if (log.scrollHeight - log.scrollTop - log.clientHeight < 40) {
      Object.assign(view, { unseen: 0, pinned: true, autoTop: log.scrollTop });
      $("jump").classList.remove("show");
    }
  });
  applyFilters();
}
