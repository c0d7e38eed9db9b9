// The research board: one row per idea (stage, novelty, runs, best metric vs baseline, review, cost,
// outcome), the experiment slots above it. Cards come from the server (/board, then `board` stream events).
"use strict";
import { $, el, num, signed, money, tokens, decisionChip, noveltyChip, chip } from "./util.js";
import { current, STAGES } from "./state.js";

export const picked = new Set(); // "run/idea" keys chosen for the compare view

export function applyBoard(run, data, full) {
  if (full) run.cards.clear();
  for (const card of data.ideas || []) run.cards.set(card.id, card);
  if (data.slots) run.slots = data.slots;
  if (data.totals) run.totals = data.totals;
  if (data.last_ts) run.lastTs = data.last_ts;
  if (data.status) run.boardStatus = data.status;
}

const ORDER = {
  order: () => 0,
  stage: (a, b) => b.stage_index - a.stage_index,
  best: (a, b) => (b.best?.relative ?? -Infinity) * dir(b) - (a.best?.relative ?? -Infinity) * dir(a),
  review: (a, b) => (b.overall ?? -1) - (a.overall ?? -1),
  cost: (a, b) => b.cost - a.cost,
};
function dir(card) { return card.best?.lower_is_better ? -1 : 1; }

export function renderBoard() {
  const run = current.run;
  if (!run) return;
  const body = $("board-rows");
  const cards = [...run.cards.values()];
  const sort = ORDER[$("board-sort").value] || ORDER.order;
  cards.sort(sort);
  $("board-empty").hidden = cards.length > 0;
  const keep = new Set(cards.map((c) => c.id));
  for (const tr of [...body.children]) if (!keep.has(tr.dataset.idea)) tr.remove();
  cards.forEach((card, i) => {
    let tr = body.querySelector(`tr[data-idea="${CSS.escape(card.id)}"]`);
    if (!tr) tr = el("tr", { class: "idea-row", "data-idea": card.id });
    if (tr.dataset.version !== String(card.version) || tr.dataset.best !== JSON.stringify(card.best)) fillRow(tr, card);
    if (body.children[i] !== tr) body.insertBefore(tr, body.children[i] || null);
  });
  renderSummary(run, cards);
}

function fillRow(tr, card) {
  const run = current.run;
  const key = `${run.id}/${card.id}`;
  tr.dataset.version = String(card.version);
  tr.dataset.best = JSON.stringify(card.best);
  tr.dataset.stage = card.stage;
  tr.dataset.outcome = card.outcome;
  const href = `#${encodeURIComponent(run.id)}/idea/${encodeURIComponent(card.id)}`;
  const box = el("input", { type: "checkbox", class: "pick", title: "compare", checked: picked.has(key) });
  box.addEventListener("change", () => { if (box.checked) picked.add(key); else picked.delete(key); renderSummary(run); });
  const pipe = el("span", { class: "pipe", title: STAGES.join(" → ") },
    ...STAGES.map((s, i) => el("i", { class: i < card.stage_index ? "done" : i === card.stage_index ? "now" : "" })));
  const runs = el("span", { class: "runs" },
    el("b", { class: "ok", text: `✓ ${card.runs_done}`, title: "runs done" }), " ",
    el("b", { class: card.runs_failed ? "bad" : "zero", text: `✗ ${card.runs_failed}`, title: "failed attempts" }),
    card.in_flight ? el("span", { class: "flight", text: ` ⟳ ${card.in_flight}`, title: "runs in flight" }) : null,
    card.tree ? el("div", { class: "tree-count", text: `tree: ${card.tree.good} good · ${card.tree.buggy} buggy${card.tree.running ? ` · ${card.tree.running} running` : ""}`, title: "tree-search nodes" }) : null);
  tr.replaceChildren(
    el("td", { class: "pick-cell" }, box),
    el("td", { class: "name" }, el("a", { class: "idea-link", href, text: card.title }), el("div", { class: "idea-id", text: card.id })),
    el("td", { class: "stage" }, pipe, el("span", { class: "stage-name", text: card.stage })),
    el("td", { class: "novelty" }, noveltyChip(card.novelty) || el("span", { class: "muted", text: "–" })),
    el("td", { class: "runs-cell" }, runs),
    el("td", { class: "best" }, bestCell(card.best)),
    el("td", { class: "review" }, card.overall != null ? decisionChip({ Overall: card.overall, Decision: card.decision })
      : el("span", { class: "muted", text: card.reviews ? `${card.reviews} review(s)` : card.papers ? `paper rev ${card.revision}` : "–" })),
    el("td", { class: "cost", title: `${card.calls} model calls` }, el("span", { text: tokens(card.tokens) }), el("small", { text: money(card.cost) })),
    el("td", { class: "outcome" }, el("span", { class: `badge o-${card.outcome}`, text: card.outcome, title: card.detail || "" })),
  );
}

export function bestCell(best) {
  if (!best) return el("span", { class: "muted", text: "–" });
  const arrow = best.lower_is_better ? "↓" : "↑";
  const label = el("div", { class: "metric", text: `${best.metric} ${arrow}`, title: `${best.dataset}: ${best.metric}, ${best.lower_is_better ? "lower" : "higher"} is better` },
    el("small", { text: ` ${best.dataset}` }));
  if (best.value === undefined) {
    return el("div", {}, label, el("span", { class: "muted", text: best.baseline != null ? `baseline ${num(best.baseline)}` : "no runs yet" }));
  }
  const where = best.source === "search" ? `node ${best.node}: its search run, the best of many tries (no re-run yet)` : `run_${best.run}`;
  const parts = [el("b", { class: "value", text: num(best.value), title: where })];
  if (best.source === "search") parts.push(el("small", { class: "muted", text: " (search)" }));
  if (best.baseline != null) {
    parts.push(el("span", { class: "muted", text: ` vs ${num(best.baseline)}` }));
    if (best.relative != null) parts.push(el("span", { class: `delta ${best.better ? "good" : "worse"}`, text: ` ${signed(best.relative * 100)}%` }));
  }
  return el("div", {}, label, el("div", {}, ...parts));
}

function renderSummary(run, cards = [...run.cards.values()]) {
  const s = run.slots || {};
  const slots = s.limit
    ? `experiment slots: ${s.busy} busy · ${s.free} free${s.queued ? ` · ${s.queued} queued` : ""}`
    : `runs in flight: ${s.in_flight || 0}`;
  $("slots").textContent = slots;
  $("slots").className = s.queued ? "slots queued" : s.in_flight ? "slots busy" : "slots";
  const counts = STAGES.map((stage) => chip(`${stage} ${cards.filter((c) => c.stage === stage).length}`, `stage-${stage}`));
  const outcomes = {};
  for (const c of cards) outcomes[c.outcome] = (outcomes[c.outcome] || 0) + 1;
  $("stage-counts").replaceChildren(...counts, ...Object.entries(outcomes).map(([o, n]) => chip(`${n} ${o}`, `o-${o}`)));
  const mine = [...picked].filter((k) => k.startsWith(`${run.id}/`)).length;
  $("compare-picked").textContent = picked.size ? `compare ${picked.size} selected` : "compare…";
  $("compare-picked").title = mine !== picked.size ? "includes ideas of other runs" : "";
}

export function wireBoard(openCompare) {
  $("board-sort").addEventListener("change", renderBoard);
  $("compare-picked").addEventListener("click", () => openCompare([...picked]));
}
