// The cause kinds of the record JSON (`cause.kind`), in the order of `CauseKind::ALL` in
// src/model.rs, with a label and a colour class for each. style.css defines the colours of
// the `cause-*` classes, for both light and dark schemes.

import { el } from "./dom.js";

export const CAUSES = [
  ["oom_killed", "OOM killed"],
  ["liveness_probe", "liveness probe"],
  ["startup_probe", "startup probe"],
  ["evicted", "evicted"],
  ["preempted", "preempted"],
  ["node_shutdown", "node shutdown"],
  ["node_lost", "node lost"],
  ["deadline_exceeded", "deadline exceeded"],
  ["stopped", "stopped"],
  ["killed_after_grace_period", "killed after grace period"],
  ["crashed", "crashed"],
  ["killed", "killed"],
  ["app_error", "app error"],
  ["not_executable", "not executable"],
  ["command_not_found", "command not found"],
  ["start_failed", "start failed"],
  ["status_unknown", "status unknown"],
  ["completed", "completed"],
  ["completed_but_restarted", "completed but restarted"],
  ["unknown", "unknown"],
];

const LABELS = new Map(CAUSES);

export function causeLabel(kind) {
  return LABELS.get(kind) ?? String(kind);
}

// Returns the colour class of a cause kind. Kinds this page does not know share the
// class of `unknown`, so a newer server never produces a class name from data.
export function causeClass(kind) {
  return LABELS.has(kind) ? `cause-${kind}` : "cause-unknown";
}

// Returns the position of a kind in CAUSES, for a stable stacking and legend order.
export function causeOrder(kind) {
  const index = CAUSES.findIndex(([name]) => name === kind);
  return index === -1 ? CAUSES.length : index;
}

// Creates a badge with a colour swatch and the kind's label as text.
export function causeBadge(kind) {
  return el(
    "span",
    { class: "cause-badge" },
    el("span", { class: `swatch ${causeClass(kind)}`, "aria-hidden": "true" }),
    causeLabel(kind),
  );
}
