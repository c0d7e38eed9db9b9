// The compare view: ideas (run/idea) or whole runs side by side: scores, best metrics, cost. Refreshed every
// few seconds while open, so running ideas move along.
"use strict";
import { $, el, num, money, tokens, getJSON, runPath, decisionChip, noveltyChip } from "./util.js";
import { bestCell } from "./board.js";

const SCORES = ["Originality", "Quality", "Clarity", "Significance", "Soundness", "Presentation", "Contribution", "Confidence"];
let shown = [];
let timer = 0;

export const compareHash = (keys) => `#compare/${keys.map((k) => k.split("/").map(encodeURIComponent).join("/")).join(",")}`;

export function openCompareView(keys, runs) {
  shown = keys;
  fillPicker(runs);
  refresh();
  clearInterval(timer);
  timer = setInterval(() => { if (!$("compare-view").hidden) refresh(); else clearInterval(timer); }, 3000);
}

async function refresh() {
  const body = $("compare-body");
  if (!shown.length) {
    body.replaceChildren(el("p", { class: "placeholder", text: "Pick ideas on a run's board (the boxes on the left), or add ideas and runs above." }));
    return;
  }
  const keys = shown.slice();
  const data = await getJSON(`/api/compare?${keys.map((k) => `item=${encodeURIComponent(k)}`).join("&")}`);
  if (keys.join() !== shown.join()) return;
  body.replaceChildren(table(data.items), data.missing.length ? el("p", { class: "muted", text: `not found: ${data.missing.join(", ")}` }) : "");
}

function table(items) {
  const head = el("tr", {}, el("th", {}), ...items.map((it) => el("th", { class: "col-head" },
    el("a", { href: it.kind === "idea" ? `#${encodeURIComponent(it.run)}/idea/${encodeURIComponent(it.card.id)}` : `#${encodeURIComponent(it.run)}`,
      text: it.kind === "idea" ? it.card.title : it.run_name }),
    el("div", { class: "muted", text: it.kind === "idea" ? `${it.card.id} · ${it.run_name}` : `run ${it.run}` }),
    el("button", { type: "button", class: "remove", title: "remove", text: "×", onclick: () => { location.hash = compareHash(shown.filter((k) => k !== it.key)); } }))));
  const row = (label, cell) => el("tr", {}, el("th", { text: label }), ...items.map((it) => el("td", {}, cell(it) ?? "–")));
  const idea = (f) => (it) => it.kind === "idea" ? f(it.card, it) : null;
  const run = (f) => (it) => it.kind === "run" ? f(it) : null;
  const rows = [
    row("stage", idea((c) => c.stage)),
    row("outcome", (it) => it.kind === "idea" ? el("span", { class: `badge o-${it.card.outcome}`, text: it.card.outcome }) : el("span", { class: `badge s-${it.status}`, text: it.status })),
    row("novelty", idea((c) => noveltyChip(c.novelty))),
    row("runs ✓ / ✗", (it) => it.kind === "idea" ? `${it.card.runs_done} / ${it.card.runs_failed}` : `${it.runs_done} / ${it.runs_failed}`),
    row("best vs baseline", (it) => it.kind === "idea" ? bestCell(it.card.best)
      : el("div", {}, ...it.best.slice(0, 6).map((b) => el("div", {}, el("small", { text: `${b.idea}: ` }), bestCell(b))))),
    row("review", (it) => it.kind === "idea" ? decisionChip(it.scores.Overall != null ? it.scores : null)
      : it.best_overall != null ? `best ${it.best_overall}/10 (${it.best_idea}) · mean ${num(it.mean_overall)}` : null),
    ...SCORES.map((s) => row(s, idea((c, it) => it.scores[s] != null ? String(it.scores[s]) : null))),
    row("ideas", run((r) => `${r.ideas}: ${r.done} done, ${r.failed} failed, ${r.dropped} dropped`)),
    row("papers", (it) => String(it.kind === "idea" ? it.card.papers : it.papers)),
    row("tokens", (it) => tokens(it.kind === "idea" ? it.card.tokens : it.tokens)),
    row("cost", (it) => money(it.kind === "idea" ? it.card.cost : it.cost)),
  ];
  markBest(rows[5], items, (it) => it.kind === "idea" ? it.scores.Overall : it.best_overall);
  return el("table", { class: "data compare-table", id: "compare-table" }, el("thead", {}, head), el("tbody", {}, ...rows));
}

function markBest(tr, items, value) {
  const values = items.map(value);
  const top = Math.max(...values.filter((v) => typeof v === "number"));
  values.forEach((v, i) => { if (v === top && items.length > 1) tr.children[i + 1].classList.add("top"); });
}

async function fillPicker(runs) {
  const runSel = $("compare-run"), ideaSel = $("compare-idea");
  runSel.replaceChildren(...runs.map((r) => el("option", { value: r.id, text: `${r.name} · ${r.id}` })));
  const fillIdeas = async () => {
    ideaSel.replaceChildren(el("option", { value: "", text: "the whole run" }));
    if (!runSel.value) return;
    try {
      const board = await getJSON(`${runPath(runSel.value)}/board`);
      for (const c of board.ideas) ideaSel.append(el("option", { value: c.id, text: c.title }));
    } catch (e) { /* a run without a transcript */ }
  };
  runSel.onchange = fillIdeas;
  $("compare-add").onclick = () => {
    const key = ideaSel.value ? `${runSel.value}/${ideaSel.value}` : runSel.value;
    if (key && !shown.includes(key)) location.hash = compareHash([...shown, key]);
  };
  await fillIdeas();
}
