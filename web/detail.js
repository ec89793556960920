// The record view: diagnosis, evidence, exit status, termination message, events and the
// log tail of one termination record.

import { getJson } from "./api.js";
import { causeBadge } from "./causes.js";
import {
  el,
  formatTime,
  path,
  replaceChildren,
  scrollBox,
  stateMessage,
  timeElement,
  visibleControls,
  withQuery,
} from "./dom.js";
import { occurredAt, podPath } from "./list.js";

// Log lines longer than this many characters show only their start until the user asks
// for the whole line, so that a megabyte of text does not push the rest out of view.
const LONG_LINE_CHARS = 2000;

// Descriptions of `log_source`, the origin of a record's log tail.
const LOG_SOURCES = {
  api_previous: "the API's log of the previous instance",
  api_current: "the API's log of the current instance",
  node_file: "the instance's log files on the node",
  termination_message: "the termination message, because no log was available",
};

// Returns the index of the log line that the key line names, or -1. A line equal to the key
// line wins, else the last line that contains it, as `podmortem show` marks it. The
// diagnosis cuts long key lines and appends "…", so a cut key line matches by its prefix.
export function keyLineIndex(lines, keyLine) {
  const key = (keyLine ?? "").trim();
  if (key === "") {
    return -1;
  }
  const equal = lines.findLastIndex((line) => line.text.trim() === key);
  if (equal !== -1) {
    return equal;
  }
  const containing = lines.findLastIndex((line) => line.text.includes(key));
  if (containing !== -1 || !key.endsWith("…")) {
    return containing;
  }
  const prefix = key.slice(0, -1);
  return lines.findLastIndex((line) => line.text.includes(prefix));
}

function definitionList(entries) {
  const list = el("dl", { class: "facts" });
  for (const [term, value] of entries) {
    if (value === null || value === undefined || value === "") {
      continue;
    }
    list.append(el("dt", {}, term), el("dd", {}, value));
  }
  return list;
}

function section(id, title, ...children) {
  return el(
    "section",
    { class: "panel", "aria-labelledby": id },
    el("h2", { id }, title),
    ...children,
  );
}

function diagnosisSection(record) {
  const cause = record.cause;
  return section(
    "diagnosis-heading",
    "Diagnosis",
    el(
      "p",
      { class: "diagnosis" },
      causeBadge(cause.kind),
      " ",
      el("span", { class: "cause-kind" }, el("code", {}, cause.kind)),
      cause.expected
        ? el("span", { class: "tag expected" }, "expected exit")
        : el("span", { class: "tag unexpected" }, "unexpected exit"),
    ),
    el("p", { class: "cause-summary" }, cause.summary || "No summary."),
    el("h3", {}, "Evidence"),
    cause.evidence.length > 0
      ? el("ul", { class: "evidence" }, cause.evidence.map((fact) => el("li", {}, fact)))
      : stateMessage("empty", "No evidence recorded."),
  );
}

// Returns a link to the list of the record's workload, or null when the record has none.
function workloadLink(record) {
  const workload = record.workload ?? record.owner;
  if (!workload || !workload.name) {
    return null;
  }
  const name = `${workload.kind}/${workload.name}`;
  return el("a", { href: withQuery("/terminations", { namespace: record.namespace, workload: name }) }, name);
}

function exitSection(record) {
  const owner = record.owner ? `${record.owner.kind}/${record.owner.name}` : null;
  return section(
    "exit-heading",
    "Exit",
    definitionList([
      ["Exit code", record.exit_code === null ? "not observed" : String(record.exit_code)],
      ["Signal", record.signal],
      ["Reason", record.reason],
      ["Started", record.started_at ? timeElement(record.started_at) : null],
      ["Finished", record.finished_at ? timeElement(record.finished_at) : null],
      ["Occurred", timeElement(occurredAt(record))],
      ["Observed", timeElement(record.observed_at)],
      ["Node", record.node],
      ["Cluster", record.cluster],
      ["Workload", workloadLink(record)],
      ["Owner", owner],
      ["Image", record.image],
      ["Container kind", record.container_kind],
      ["Container id", record.container_id],
      ["Record source", record.source],
      ["Pod reason", record.pod_reason],
      ["Pod message", record.pod_message],
      [
        "Missed restarts before",
        record.missed_before > 0 ? String(record.missed_before) : null,
      ],
    ]),
  );
}

function messageSection(record) {
  const children = [];
  if (record.message) {
    children.push(el("pre", { class: "message", id: "termination-message" }, record.message));
  } else {
    children.push(stateMessage("empty", "No termination message."));
  }
  if (record.termination_message_file) {
    children.push(
      el("p", { class: "note" }, "Read from ", el("code", {}, record.termination_message_file)),
    );
  }
  return section("message-heading", "Termination message", ...children);
}

function eventsSection(record) {
  if (record.events.length === 0) {
    return section("events-heading", "Events", stateMessage("empty", "No related events."));
  }
  const head = el(
    "thead",
    {},
    el(
      "tr",
      {},
      ["Type", "Reason", "Message", "Count", "First seen", "Last seen", "From"].map((name) =>
        el("th", { scope: "col" }, name),
      ),
    ),
  );
  const body = el("tbody", {});
  for (const event of record.events) {
    const from = [event.reporter, event.host].filter(Boolean).join(" on ");
    body.append(
      el(
        "tr",
        { class: event.type === "Warning" ? "warning" : null },
        el("td", { class: "nowrap" }, event.type),
        el("td", { class: "word" }, event.reason),
        el(
          "td",
          { class: "event-message" },
          event.message,
          event.inferred ? el("span", { class: "tag" }, "matched by node and time") : null,
        ),
        el("td", { class: "number" }, String(event.count)),
        el("td", { class: "nowrap" }, timeElement(event.first_seen)),
        el("td", { class: "nowrap" }, timeElement(event.last_seen)),
        el("td", {}, from || "–"),
      ),
    );
  }
  return section(
    "events-heading",
    "Events",
    scrollBox(
      el("table", { class: "events" }, el("caption", { class: "visually-hidden" }, "Related events"), head, body),
    ),
  );
}

function logLineText(raw) {
  const text = visibleControls(raw);
  const span = el("span", { class: "log-text" });
  if (text.length <= LONG_LINE_CHARS) {
    span.append(document.createTextNode(text));
    return span;
  }
  span.append(document.createTextNode(text.slice(0, LONG_LINE_CHARS)));
  const more = el(
    "button",
    { type: "button", class: "show-line" },
    `show all ${text.length.toLocaleString("en")} characters`,
  );
  more.addEventListener("click", () => {
    span.replaceChildren(document.createTextNode(text));
  });
  span.append(" … ", more);
  return span;
}

function logSection(record) {
  const lines = record.log_tail;
  const notes = [];
  if (record.log_source) {
    notes.push(`From ${LOG_SOURCES[record.log_source] ?? record.log_source}.`);
  }
  if (record.log_truncated) {
    notes.push("Only the end of a longer output was kept.");
  }
  if (lines.length === 0) {
    return section(
      "log-heading",
      "Log tail",
      notes.length > 0 ? el("p", { class: "note" }, notes.join(" ")) : null,
      stateMessage("empty", "No log lines recorded."),
    );
  }

  const keyIndex = keyLineIndex(lines, record.cause.key_line);
  const list = el("ol", { class: "log", "aria-label": "Log lines, oldest first" });
  lines.forEach((line, index) => {
    const stream = line.stream === "stderr" ? "stderr" : "stdout";
    const classes = ["log-line", stream];
    if (index === keyIndex) {
      classes.push("key-line");
    }
    if (line.partial) {
      classes.push("partial");
    }
    const markers = el("span", { class: "markers" });
    // The stream and key line are marked with text as well as colour.
    markers.append(
      el(
        "span",
        { class: `stream-marker ${stream}`, title: stream },
        stream === "stderr" ? "ERR" : "out",
      ),
    );
    const text = logLineText(line.text);
    const body = index === keyIndex ? el("mark", { class: "key-mark" }, text) : text;
    list.append(
      el(
        "li",
        { class: classes.join(" "), "data-stream": stream },
        el("span", { class: "log-time" }, line.time ? formatTime(line.time) : ""),
        markers,
        index === keyIndex ? el("span", { class: "key-label" }, "key line") : null,
        body,
        line.partial ? el("span", { class: "partial-label" }, "(partial line)") : null,
      ),
    );
  });

  const legend = el(
    "p",
    { class: "note" },
    ...notes.map((note) => `${note} `),
    "Lines marked ",
    el("span", { class: "stream-marker stderr" }, "ERR"),
    " went to stderr.",
  );
  const keyNote =
    record.cause.key_line && keyIndex === -1
      ? el(
          "p",
          { class: "note" },
          "Key line, not found in the kept lines: ",
          el("code", {}, record.cause.key_line),
        )
      : null;
  return section("log-heading", "Log tail", legend, keyNote, list);
}

export async function renderDetail({ main, params, signal }) {
  const record = await getJson(path`/api/v1/terminations/${params.id}`, { signal });
  document.title = `${record.namespace}/${record.pod} · podmortem`;

  const heading = el(
    "h1",
    { tabindex: "-1", class: "record-title" },
    el("span", { class: "name" }, `${record.namespace}/${record.pod}`),
    " ",
    el("span", { class: "subtitle" }, `container ${record.container}, restart ${record.restart_count}`),
  );
  const links = el(
    "p",
    { class: "links" },
    el("a", { href: podPath(record.namespace, record.pod) }, "Pod history"),
    " · ",
    el(
      "a",
      { href: withQuery("/terminations", { namespace: record.namespace, pod: record.pod, all: true }) },
      "This pod in the list",
    ),
  );
  replaceChildren(
    main,
    heading,
    links,
    el(
      "div",
      { class: "detail-grid" },
      diagnosisSection(record),
      exitSection(record),
      messageSection(record),
    ),
    eventsSection(record),
    logSection(record),
  );
}
