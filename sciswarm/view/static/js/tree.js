// The experiment tree (ideas/<idea>/tree.json): nodes as an indented tree with status colours and metrics;
// clicking a node shows its diff and log.
"use strict";
import { el, num, runPath, getJSON } from "./util.js";
import { section } from "./idea.js";

let chosen = null;

export function treeSection(d, page) {
  const t = d.tree;
  if (!t || !t.nodes.length) return null;
  const kids = new Map();
  const ids = new Set(t.nodes.map((n) => n.id));
  for (const n of t.nodes) {
    const parent = n.parent && ids.has(n.parent) ? n.parent : "";
    if (!kids.has(parent)) kids.set(parent, []);
    kids.get(parent).push(n);
  }
  const detail = el("div", { class: "node-detail", id: "node-detail" }, el("p", { class: "muted", text: "Click a node for its diff and log." }));
  const open = async (node, button) => {
    chosen = node.id;
    for (const b of button.closest(".tree").querySelectorAll(".node.sel")) b.classList.remove("sel");
    button.classList.add("sel");
    detail.replaceChildren(el("p", { class: "muted", text: "Loading…" }));
    try {
      const got = await getJSON(`${runPath(page.run)}/ideas/${encodeURIComponent(page.idea)}/tree/${encodeURIComponent(node.id)}`);
      const texts = Object.entries(got.texts || {});
      detail.replaceChildren(el("h4", { text: `node ${node.id}` }),
        facts(got.node),
        ...(texts.length ? texts : [["", "(no diff or log for this node)"]]).map(([k, v]) =>
          el("div", { class: `node-text t-${k}` }, k ? el("b", { text: k }) : null, k === "diff" ? diffBlock(v) : el("pre", { class: "code", text: v }))));
    } catch (e) {
      detail.replaceChildren(el("p", { class: "muted", text: `cannot load node ${node.id}` }));
    }
  };
  const branch = (parent, depth) => {
    const nodes = kids.get(parent) || [];
    if (!nodes.length || depth > 60) return null;
    return el("ul", {}, ...nodes.map((n) => {
      const metric = typeof n.metric === "number" ? num(n.metric) : n.metric && typeof n.metric === "object" ? JSON.stringify(n.metric) : n.metric ?? "";
      const button = el("button", { type: "button", class: `node st-${String(n.status || "unknown").replace(/\W/g, "_")}${chosen === n.id ? " sel" : ""}`,
        "data-node": n.id, title: `${n.operator || ""} ${n.status || ""}${n.status === "running" && n.worker ? ` (worker ${n.worker})` : ""}${n.slot ? ` on GPU ${n.slot}` : ""}` },
        el("i", { class: "dot" }), el("code", { text: n.id }), el("span", { class: "op", text: n.operator || "" }),
        n.stage ? el("span", { class: "tstage", text: n.stage }) : null,
        el("span", { class: "status", text: n.status || "" }), metric !== "" ? el("b", { class: "tmetric", text: String(metric) }) : null);
      button.addEventListener("click", () => open(n, button));
      return el("li", {}, button, branch(n.id, depth + 1));
    }));
  };
  const counts = {};
  for (const n of t.nodes) counts[n.status || "unknown"] = (counts[n.status || "unknown"] || 0) + 1;
  const summary = Object.entries(counts).map(([s, c]) => `${c} ${s}`).join(" · ");
  const o = t.objective;
  const goal = o ? `objective: ${o.direction === "max" ? "maximise" : "minimise"} ${o.metric} (${Array.isArray(o.datasets) ? o.datasets.join(", ") : "mean over datasets"})`
    : "no objective: a judge picks the best nodes";
  return section(`Experiment tree (${t.nodes.length} nodes)`, el("div", { class: "muted", text: `${summary} · ${goal}` }),
    stagesTable(t.stages || []),
    el("div", { class: "tree-wrap" }, el("div", { class: "tree", id: "tree" }, branch("", 0)), detail));
}

// Each stage's best node: its value on the search run (the best of many tries) beside its re-run with fresh seeds.
function stagesTable(stages) {
  if (!stages.length) return null;
  const value = (v) => (typeof v === "number" ? num(v) : "–");
  return el("table", { class: "data tree-stages", id: "tree-stages" },
    el("thead", {}, el("tr", {}, ...["stage", "nodes", "best", "chosen by", "search value", "re-run (fresh seeds)"].map((h) => el("th", { text: h })))),
    el("tbody", {}, ...stages.map((st) => el("tr", {},
      el("td", { text: st.name }), el("td", { class: "num", text: String(st.nodes_tried ?? "") }),
      el("td", {}, st.best ? el("code", { text: st.best }) : "–"), el("td", { text: st.chosen_by || "", title: st.reason || "" }),
      el("td", { class: "num", text: value(st.search_value) }),
      el("td", { class: "num", text: st.rerun_error ? "failed" : typeof st.rerun_value === "number"
        ? `${num(st.rerun_value)}${st.rerun_std != null ? ` ± ${num(st.rerun_std)}` : ""} (n=${st.rerun_seeds})` : st.done ? "–" : "…",
        title: st.rerun_error || "" })))));
}

function diffBlock(text) {
  const lines = String(text).split("\n").map((line) => {
    const cls = line.startsWith("+++") || line.startsWith("---") ? "file" : line.startsWith("+") ? "add"
      : line.startsWith("-") ? "del" : line.startsWith("@@") ? "hunk" : "";
    return el("span", { class: cls, text: `${line}\n` });
  });
  return el("pre", { class: "code diff" }, ...lines);
}

const HIDDEN = new Set(["id", "proposed", "published", "started", "finished", "debug_depth", "texts"]);
function facts(node) {
  const items = Object.entries(node || {}).filter(([k, v]) => !HIDDEN.has(k) && v !== "" && v !== null && v !== undefined
    && !(typeof v === "object" && !Object.keys(v).length));
  return el("dl", { class: "facts" }, ...items.flatMap(([k, v]) => [el("dt", { text: k }),
    el("dd", { text: typeof v === "object" ? JSON.stringify(v) : typeof v === "number" ? num(v) : String(v) })]));
}
