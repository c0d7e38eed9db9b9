// Small helpers shared by every view: DOM building, formatting, fetching.
"use strict";

export const $ = (id) => document.getElementById(id);
export const fmtInt = new Intl.NumberFormat("en-US");

export function el(tag, props, ...children) {
  const node = document.createElement(tag);
  if (props) for (const [k, v] of Object.entries(props)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else if (k === "style") node.setAttribute("style", v);
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children) if (c !== null && c !== undefined && c !== false) node.append(c);
  return node;
}

const ROLE_COLORS = {
  swarm: "#64748b", ideator: "#7c3aed", novelty: "#0891b2", novelty_critic: "#0891b2", critic: "#0891b2",
  coder: "#2563eb", experimenter: "#059669", writer: "#c2410c", reviewer: "#db2777", skeptic: "#b45309",
};
const PALETTE = ["#0d9488", "#9333ea", "#ca8a04", "#4f46e5", "#e11d48", "#0284c7", "#65a30d", "#a21caf"];

export function roleColor(sender) {
  const base = String(sender || "swarm").split(/[/.:]/)[0];
  if (ROLE_COLORS[base]) return ROLE_COLORS[base];
  for (const [k, v] of Object.entries(ROLE_COLORS)) if (base.startsWith(k)) return v;
  let h = 0;
  for (const ch of base) h = (h * 31 + ch.charCodeAt(0)) >>> 0;
  return PALETTE[h % PALETTE.length];
}

const pad = (n) => String(n).padStart(2, "0");
export function clock(ts) {
  const d = new Date((ts || Date.now() / 1000) * 1000);
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}
export function when(ts) {
  if (!ts) return "";
  const d = new Date(ts * 1000), now = new Date();
  const day = d.toDateString() === now.toDateString() ? "today" : d.toLocaleDateString();
  return `${day} ${clock(ts)}`;
}
export function duration(s) {
  if (s == null || !isFinite(s)) return "–";
  s = Math.max(0, Math.round(s));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${pad(s % 60)}s`;
  return `${Math.floor(s / 3600)}h ${pad(Math.floor(s / 60) % 60)}m`;
}
export const money = (c) => "$" + ((c || 0) < 1 ? (c || 0).toFixed(4) : c.toFixed(2));
export function num(v) {
  if (v === null || v === undefined || !isFinite(v)) return "–";
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-3 || a >= 1e5)) return v.toExponential(2);
  return String(Number(v.toPrecision(4)));
}
export function signed(v, digits = 1) {
  return (v > 0 ? "+" : v < 0 ? "−" : "±") + Math.abs(v).toFixed(digits);
}
export const tokens = (n) => n >= 1e6 ? `${(n / 1e6).toFixed(2)}M` : n >= 1e4 ? `${(n / 1e3).toFixed(1)}k` : fmtInt.format(n || 0);

export const runPath = (runId) => `/api/runs/${encodeURIComponent(runId)}`;
export const fileUrl = (runId, path) =>
  `${runPath(runId)}/files/${String(path).split("/").map(encodeURIComponent).join("/")}`;

export async function getJSON(url) {
  const res = await fetch(url, { cache: "no-store" });
  if (!res.ok) throw new Error(`${res.status} ${url}`);
  return res.json();
}

export function statusBadge(node, status, stale) {
  node.className = `badge s-${stale ? "stale" : status || "unknown"}`;
  node.textContent = stale ? "running?" : status || "unknown";
  node.title = stale ? "run.json says running, but its process is gone" : "";
  node.hidden = false;
}

export function chip(text, cls = "", title = "") {
  return el("span", { class: `chip ${cls}`.trim(), text, title: title || null });
}

export function decisionChip(review, prefix = "") {
  if (!review || typeof review !== "object") return null;
  const d = String(review.Decision || "");
  return chip(`${prefix}${review.Overall ?? "?"}/10 · ${d || "?"}`, d.toLowerCase() === "accept" ? "accept" : "reject");
}

export function noveltyChip(verdict) {
  if (!verdict) return null;
  return chip(verdict, verdict === "novel" ? "accept" : verdict === "not novel" ? "reject" : "");
}

// Coalesce calls: run `fn` at most once per `ms`, and always once after the last call.
export function debounce(fn, ms) {
  let timer = 0, again = false;
  const fire = () => {
    timer = 0;
    if (again) { again = false; timer = setTimeout(fire, ms); }
    fn();
  };
  return () => { if (timer) again = true; else timer = setTimeout(fire, ms); };
}
