// The one shared piece of state: the selected run (null before one is picked). Views read it; app.js owns it.
"use strict";

export const current = { run: null, gen: 0 };

export const FINAL = new Set(["completed", "partial", "stopped", "interrupted", "failed"]);
export const STAGES = ["idea", "novelty", "experiments", "writing", "review"];

export function freshRun(id) {
  return {
    id, meta: {}, board: null, cards: new Map(), next: 0, first: 0, ended: false, stale: false, es: null,
    totals: { tokens: 0, cost: 0, calls: 0, messages: 0, status: "", scripted: false, ideas: 0 }, lastTs: null,
    logReady: false,
  };
}
