// The idea page's reviews, claims audit and failures.
"use strict";
import { el, chip, decisionChip } from "./util.js";
import { section } from "./idea.js";

const SCORES = ["Overall", "Originality", "Quality", "Clarity", "Significance", "Soundness", "Presentation", "Contribution", "Confidence"];

export function reviewsSection(d) {
  if (!d.reviews.length && !d.meta_reviews.length) return null;
  const revisions = [...new Set([...d.reviews, ...d.meta_reviews].map((r) => r.revision ?? 0))].sort((a, b) => a - b);
  const parts = [];
  for (const rev of revisions) {
    const rows = d.reviews.filter((r) => (r.revision ?? 0) === rev).map((r) => scoreRow(r.reviewer, r.review, ""));
    const meta = d.meta_reviews.filter((m) => (m.revision ?? 0) === rev);
    for (const m of meta) rows.push(scoreRow(`meta-review (${m.n_reviews})`, m.review, "meta"));
    parts.push(el("h4", { text: `revision ${rev}` }), el("table", { class: "data reviews-table" },
      el("thead", {}, el("tr", {}, el("th", { text: "reviewer" }), el("th", { text: "decision" }), ...SCORES.map((s) => el("th", { text: s })))),
      el("tbody", {}, ...rows)));
  }
  const last = d.meta_reviews[d.meta_reviews.length - 1];
  if (last && last.review) {
    const r = last.review;
    parts.push(el("div", { class: "meta-review", id: "meta-review" },
      el("h4", { text: "Meta-review" }), decisionChip(r, "Overall "),
      el("p", { class: "prose", text: r.Summary || "" }),
      list("Strengths", r.Strengths), list("Weaknesses", r.Weaknesses), list("Questions", r.Questions)));
  }
  return section("Reviews", ...parts);
}

function scoreRow(who, review, cls) {
  const r = review || {};
  return el("tr", { class: cls }, el("td", { text: who || "?" }), el("td", {}, decisionChip(r)),
    ...SCORES.map((s) => el("td", { class: "num", text: r[s] ?? "" })));
}

function list(title, items) {
  if (!Array.isArray(items) || !items.length) return null;
  return el("div", { class: "review-list" }, el("b", { text: title }), el("ul", {}, ...items.map((t) => el("li", { text: String(t) }))));
}

export function auditSection(d) {
  const a = d.audit;
  if (!a) return null;
  const c = a.counts || (a.message && a.message.counts) || {};
  const held = (c.comparisons_supported || 0) + (c.comparisons_untested || 0);
  const head = el("div", { class: "extras" },
    chip(`${c.numbers_traced ?? 0}/${c.numbers ?? 0} numbers traced`, c.numbers_untraced ? "reject" : "accept"),
    chip(`${held}/${c.comparisons ?? 0} comparisons hold`, held < (c.comparisons || 0) ? "reject" : "accept"),
    c.comparisons_untested ? chip(`${c.comparisons_untested} untested (no seeds to test)`) : null,
    a.message ? chip(`revision ${a.message.revision} · ${a.message.rounds} fix round(s)`) : null);
  const all = (a.claims || []).map((f) => el("li", { class: `claim v-${f.verdict}` },
    el("b", { text: String(f.verdict).replace("_", " ") }), " ", el("q", { text: f.claim?.quote || "" }),
    el("div", { class: "muted", text: f.evidence || "" })));
  const flagged = (a.flagged || []).map((f) => el("li", { class: `claim v-${f.verdict}` },
    el("b", { text: f.verdict.replace("_", " ") }), " ", el("q", { text: f.claim?.quote || "" }),
    el("div", { class: "muted", text: f.evidence || "" })));
  const untraced = (a.untraced || []).map((n) => el("li", { class: "untraced" },
    el("b", { text: n.text }), ` (${n.part}): `, el("span", { class: "muted", text: n.sentence || "" })));
  const remaining = (a.message?.remaining || []).map((t) => el("li", { text: t }));
  return section("Claims audit", head,
    flagged.length ? el("div", {}, el("h4", { text: "Flagged claims" }), el("ul", { class: "audit", id: "audit-flagged" }, ...flagged)) : null,
    untraced.length ? el("div", {}, el("h4", { text: "Untraced numbers" }), el("ul", { class: "audit", id: "audit-untraced" }, ...untraced)) : null,
    (a.flags || []).length ? el("div", {}, el("h4", { text: "Run flags" }), el("ul", { class: "audit" }, ...a.flags.map((f) => el("li", { text: f })))) : null,
    remaining.length ? el("div", {}, el("h4", { text: "Left after the fix rounds" }), el("ul", { class: "audit" }, ...remaining)) : null,
    !flagged.length && !untraced.length ? el("p", { class: "muted", text: "Nothing flagged: every number traced, every comparison holds." }) : null,
    all.length ? el("details", {}, el("summary", { text: `all ${all.length} comparisons read from the paper` }), el("ul", { class: "audit" }, ...all)) : null);
}

export function failuresSection(d) {
  if (!d.failures.length) return null;
  return section("Failures", el("ul", { class: "audit" }, ...d.failures.map((f) =>
    el("li", {}, el("b", { text: `${f.role} on ${f.on_kind || "-"}: ` }), f.error))));
}
