// An idea's page: the idea, its novelty verdict, the runs against the baseline, figures, the paper, reviews,
// the claims audit and the experiment tree. Re-fetched (debounced) whenever the idea changes; each section
// is redrawn only when its data did, so the PDF and the choices made on the page stay put.
"use strict";
import { $, el, num, signed, money, tokens, runPath, fileUrl, getJSON, noveltyChip, chip, debounce } from "./util.js";
import { current } from "./state.js";
import { reviewsSection, auditSection, failuresSection } from "./idea_parts.js";
import { treeSection } from "./tree.js";

let page = { run: null, idea: null, drawn: {}, dataset: "", revision: null, data: null };

export function openIdea(runId, ideaId) {
  if (page.run !== runId || page.idea !== ideaId) {
    page = { run: runId, idea: ideaId, drawn: {}, dataset: "", revision: null, data: null };
    $("idea-body").replaceChildren(el("div", { class: "placeholder", text: "Loading…" }));
  }
  refreshIdea();
}
export const ideaShown = () => ($("idea-view").hidden ? null : page.idea); // the idea on screen, if any
export const refreshSoon = debounce(() => refreshIdea(), 300);

export async function refreshIdea() {
  const { run, idea } = page;
  if (!run || !idea) return;
  let data;
  try {
    data = await getJSON(`${runPath(run)}/ideas/${encodeURIComponent(idea)}`);
  } catch (e) {
    if (page.idea === idea) $("idea-body").replaceChildren(el("div", { class: "placeholder", text: `No idea ${idea} in this run.` }));
    return;
  }
  if (page.run !== run || page.idea !== idea) return;
  page.data = data;
  draw(data);
}

const SECTIONS = [
  ["head", (d) => [d.card, d.idea], headSection],
  ["idea", (d) => [d.idea, d.plan], ideaSection],
  ["novelty", (d) => d.novelty, noveltySection],
  ["runs", (d) => d.runs, runsSection],
  ["figures", (d) => d.figures, figuresSection],
  ["paper", (d) => [d.papers, d.revisions], paperSection],
  ["reviews", (d) => [d.reviews, d.meta_reviews], reviewsSection],
  ["audit", (d) => d.audit, auditSection],
  ["tree", (d) => d.tree, treeSection],
  ["failures", (d) => d.failures, failuresSection],
];

function draw(data) {
  const body = $("idea-body");
  body.querySelector(".placeholder")?.remove();
  for (const [name, pick, render] of SECTIONS) {
    const key = JSON.stringify(pick(data));
    if (page.drawn[name] === key) continue;
    page.drawn[name] = key;
    const node = render(data, page) || el("section", { id: `idea-${name}`, hidden: true });
    node.id = `idea-${name}`;
    const old = $(`idea-${name}`);
    if (old) old.replaceWith(node); else body.append(node);
  }
}

export function section(title, ...children) {
  return el("section", { class: "panel" }, el("h3", { text: title }), ...children);
}

function headSection(d) {
  const c = d.card;
  return el("section", { class: "idea-head" },
    el("div", { class: "crumbs" }, el("a", { href: `#${encodeURIComponent(page.run)}`, text: "← board" })),
    el("h2", { id: "idea-title", text: d.idea.title || c.title || d.id }),
    el("div", { class: "idea-meta" },
      el("code", { text: d.id }),
      el("span", { class: "badge stage-badge", id: "idea-stage", text: c.stage }),
      el("span", { class: `badge o-${c.outcome}`, id: "idea-outcome", text: c.outcome, title: c.detail || "" }),
      noveltyChip(c.novelty),
      el("span", { class: "muted", text: `${tokens(c.tokens)} tokens · ${money(c.cost)} · ${c.calls} model calls` })));
}

function ideaSection(d) {
  const i = d.idea;
  if (!i.title && !i.experiment) return null;
  const scores = ["interestingness", "feasibility", "novelty"].filter((k) => i[k] != null).map((k) => chip(`${k} ${i[k]}/10`));
  return section("Idea",
    el("p", { class: "prose", text: i.experiment || "" }),
    scores.length ? el("div", { class: "extras" }, ...scores) : null,
    d.plan.length ? el("div", {}, el("h4", { text: "Plan" }), el("ol", { class: "plan" }, ...d.plan.map((p) => el("li", { text: p })))) : null);
}

function noveltySection(d) {
  const n = d.novelty;
  if (!n) return null;
  const papers = (n.compared || []).map((p) => el("tr", {},
    el("td", { text: p.title || "" }), el("td", { text: p.year ?? "" }), el("td", { text: p.venue || "" }),
    el("td", { text: (p.authors || "").slice(0, 80) }), el("td", { class: "num", text: p.citation_count ?? "" })));
  return section("Novelty",
    el("div", { class: "extras" }, noveltyChip(n.verdict), n.proceed === false ? chip("dropped", "reject") : null,
      chip(`${(n.compared || []).length} papers compared`)),
    el("p", { class: "prose", text: n.reason || "" }),
    papers.length ? el("table", { class: "data papers" },
      el("thead", {}, el("tr", {}, ...["paper", "year", "venue", "authors", "cited"].map((h) => el("th", { text: h })))),
      el("tbody", {}, ...papers)) : null);
}

function cellText(m) {
  if (!m) return "–";
  let t = num(m.mean);
  if (m.std != null) t += ` ± ${num(m.std)}`;
  if (m.n) t += ` (n=${m.n})`;
  return t;
}

function runsSection(d) {
  const t = d.runs;
  if (!t.rows.length) return section("Runs", el("p", { class: "muted", text: "No runs yet." }));
  if (!t.datasets.includes(page.dataset)) page.dataset = t.datasets[0] || "";
  const select = el("select", { id: "runs-dataset" }, ...t.datasets.map((ds) => el("option", { value: ds, text: ds, selected: ds === page.dataset })));
  const table = el("table", { class: "data runs-table", id: "runs-table" });
  const fill = () => {
    const ds = page.dataset;
    const metrics = t.metrics.filter((m) => t.rows.some((r) => r.metrics[ds]?.[m]));
    const base = t.rows.find((r) => r.baseline)?.metrics[ds] || {};
    const head = el("tr", {}, el("th", { text: "run" }), el("th", { text: "status" }), el("th", { text: "wall time" }),
      ...metrics.map((m) => el("th", { text: `${m} ${t.lower_is_better[m] ? "↓" : "↑"}` })));
    const rows = t.rows.map((r) => {
      const name = r.baseline ? "run_0 (baseline)" : r.label || `run_${r.run}${r.attempt > 1 ? ` · attempt ${r.attempt}` : ""}`;
      const status = r.ok ? chip("ok", "accept") : chip(r.timed_out ? "timed out" : "failed", "reject", r.error);
      const cells = metrics.map((m) => {
        const v = r.metrics[ds]?.[m], b = base[m];
        const td = el("td", { class: "num", text: r.ok ? cellText(v) : "" });
        if (v && b && !r.baseline && b.mean) {
          const rel = (v.mean - b.mean) / Math.abs(b.mean);
          const good = t.lower_is_better[m] ? rel < 0 : rel > 0;
          td.append(el("span", { class: `delta ${good ? "good" : "worse"}`, text: ` ${signed(rel * 100)}%` }));
        }
        return td;
      });
      return el("tr", { class: r.baseline ? "baseline" : r.ok ? "" : "failed" },
        el("td", { text: name }), el("td", {}, status, r.ok ? null : el("div", { class: "err", text: r.error })),
        el("td", { class: "num", text: r.wall_s != null ? `${r.wall_s.toFixed(1)}s` : "" }), ...cells);
    });
    table.replaceChildren(el("thead", {}, head), el("tbody", {}, ...rows));
  };
  select.addEventListener("change", () => { page.dataset = select.value; fill(); });
  fill();
  return section("Runs against the baseline", el("label", { class: "inline" }, "dataset ", select), table);
}

function figuresSection(d) {
  if (!d.figures.length) return null;
  return section("Figures", el("div", { class: "figures" }, ...d.figures.map((f) => {
    const href = fileUrl(page.run, f.path);
    return el("figure", { class: "figure" },
      el("a", { href, target: "_blank", rel: "noopener" }, el("img", { src: href, alt: f.file })),
      el("figcaption", {}, el("b", { text: f.file }), f.caption ? el("div", { class: "vision", text: f.caption }) : null));
  })));
}

function paperSection(d) {
  if (!d.papers.length) return null;
  const latest = d.papers[d.papers.length - 1];
  const chosen = () => d.papers.find((p) => p.revision === page.revision) || latest;
  const select = el("select", { id: "paper-revision" }, ...d.papers.map((p) =>
    el("option", { value: String(p.revision), text: `revision ${p.revision}${p.compiled === false ? " (not compiled)" : ""}`, selected: p === chosen() })));
  const frame = el("iframe", { id: "paper-frame", title: "the paper (PDF)" });
  const info = el("div", { class: "extras" });
  const show = () => {
    const p = chosen();
    const src = p.pdf ? fileUrl(page.run, p.pdf) : "";
    if (frame.getAttribute("src") !== src) frame.setAttribute("src", src);
    info.replaceChildren(...[chip(`${p.pages || 0} page${p.pages === 1 ? "" : "s"} · ${p.citations || 0} citations`),
      p.compiled === false ? chip("did not compile: last good PDF", "reject") : null,
      (p.reverted || []).length ? chip(`reverted: ${p.reverted.join(", ")}`) : null,
      p.gave_up ? chip(`writer gave up at ${p.gave_up.split(":")[0]}`, "reject", p.gave_up) : null,
      src ? el("a", { class: "chip pdf", href: src, target: "_blank", rel: "noopener", text: p.pdf.split("/").pop() }) : null,
    ].filter(Boolean));
  };
  select.addEventListener("change", () => { page.revision = Number(select.value); show(); });
  show();
  const requests = d.revisions.map((r) => el("div", { class: "revision-req" }, el("b", { text: `revision ${r.revision} asked for:` }),
    el("ul", {}, ...r.requests.map((q) => el("li", { text: q })))));
  return section("Paper", el("label", { class: "inline" }, select), info, frame, ...requests);
}
