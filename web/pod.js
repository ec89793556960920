// The pod history: a timeline of the pod's container instances, one row per container and
// one mark per exit, and the table of its records.

import { getJson } from "./api.js";
import { causeClass, causeLabel } from "./causes.js";
import { el, formatTime, path, replaceChildren, stateMessage, svg, withQuery } from "./dom.js";
import { occurredAt, recordPath, recordsTable } from "./list.js";

const PAGE_SIZE = 200;
const ROW_HEIGHT = 34;
const TIMELINE = { width: 1000, left: 180, right: 16, top: 10, bottom: 30 };
const LABEL_CHARS = 24;
const MAX_X_LABELS = 6;
const SECOND_MS = 1000;
const MINUTE_MS = 60 * SECOND_MS;
const HOUR_MS = 60 * MINUTE_MS;
const DAY_MS = 24 * HOUR_MS;
// Intervals between the time axis' ticks, shortest first. The axis takes the shortest that
// gives at most MAX_X_LABELS intervals over the shown span.
const TICK_INTERVALS = [
  SECOND_MS,
  2 * SECOND_MS,
  5 * SECOND_MS,
  10 * SECOND_MS,
  15 * SECOND_MS,
  30 * SECOND_MS,
  MINUTE_MS,
  2 * MINUTE_MS,
  5 * MINUTE_MS,
  10 * MINUTE_MS,
  15 * MINUTE_MS,
  30 * MINUTE_MS,
  HOUR_MS,
  2 * HOUR_MS,
  3 * HOUR_MS,
  6 * HOUR_MS,
  12 * HOUR_MS,
  DAY_MS,
  2 * DAY_MS,
  7 * DAY_MS,
  14 * DAY_MS,
];

function shorten(text, length) {
  return text.length > length ? `${text.slice(0, length - 1)}…` : text;
}

// Returns the ticks of a time axis from `start` to `end` (milliseconds) at the multiples of
// a round interval. Each UTC label is as precise as the interval needs: seconds below a
// minute, minutes below a day, else the date. So no two labels are equal.
export function timeTicks(start, end) {
  const span = end - start;
  const interval =
    TICK_INTERVALS.find((ms) => span / ms <= MAX_X_LABELS) ??
    Math.ceil(span / MAX_X_LABELS / DAY_MS) * DAY_MS;
  let format = (iso) => iso.slice(0, 10);
  if (interval < MINUTE_MS) {
    format = (iso) => iso.slice(11, 19);
  } else if (interval < DAY_MS) {
    format = (iso) => `${iso.slice(5, 10)} ${iso.slice(11, 16)}`;
  }
  const ticks = [];
  for (let ms = Math.ceil(start / interval) * interval; ms <= end; ms += interval) {
    ticks.push({ ms, label: format(new Date(ms).toISOString()) });
  }
  return ticks;
}

// Builds the SVG timeline. An instance with a known start gets a bar from start to exit,
// and every exit gets a mark that links to its record.
function timeline(records) {
  const containers = [...new Set(records.map((record) => record.container))].sort();
  const times = [];
  for (const record of records) {
    times.push(Date.parse(occurredAt(record)));
    if (record.started_at) {
      times.push(Date.parse(record.started_at));
    }
  }
  let start = Math.min(...times);
  let end = Math.max(...times);
  if (end - start < 60 * 1000) {
    start -= 30 * 1000;
    end += 30 * 1000;
  }
  const plotWidth = TIMELINE.width - TIMELINE.left - TIMELINE.right;
  const height = TIMELINE.top + containers.length * ROW_HEIGHT + TIMELINE.bottom;
  const x = (ms) => TIMELINE.left + ((ms - start) / (end - start)) * plotWidth;
  const rowY = (container) => TIMELINE.top + containers.indexOf(container) * ROW_HEIGHT + ROW_HEIGHT / 2;

  const chart = svg("svg", {
    class: "timeline",
    viewBox: `0 0 ${TIMELINE.width} ${height}`,
    role: "group",
    "aria-labelledby": "timeline-heading",
  });

  containers.forEach((container) => {
    const y = rowY(container);
    chart.append(
      svg("line", { class: "grid", x1: TIMELINE.left, x2: TIMELINE.width - TIMELINE.right, y1: y, y2: y }),
      svg(
        "text",
        { class: "axis-label row-label", x: TIMELINE.left - 8, y: y + 4, "text-anchor": "end" },
        svg("title", {}, container),
        shorten(container, LABEL_CHARS),
      ),
    );
  });

  // Labels near the right edge end at their tick, so that they stay inside the SVG.
  const rightEdge = TIMELINE.width - TIMELINE.right - 40;
  for (const tick of timeTicks(start, end)) {
    chart.append(
      svg("line", {
        class: "tick",
        x1: x(tick.ms),
        x2: x(tick.ms),
        y1: height - TIMELINE.bottom,
        y2: height - TIMELINE.bottom + 4,
      }),
      svg(
        "text",
        {
          class: "axis-label x-tick",
          x: x(tick.ms),
          y: height - 8,
          "text-anchor": x(tick.ms) > rightEdge ? "end" : "middle",
        },
        tick.label,
      ),
    );
  }

  const ordered = [...records].sort((a, b) => Date.parse(occurredAt(a)) - Date.parse(occurredAt(b)));
  for (const record of ordered) {
    const y = rowY(record.container);
    const exitAt = Date.parse(occurredAt(record));
    const cause = causeClass(record.cause.kind);
    const started = record.started_at ? formatTime(record.started_at) : "unknown";
    const link = svg("a", {
      href: recordPath(record),
      class: "instance",
      "data-restart": record.restart_count,
      "data-cause": record.cause.kind,
    });
    link.append(
      svg(
        "title",
        {},
        `${record.container} restart ${record.restart_count}: ${causeLabel(record.cause.kind)}, ` +
          `started ${started}, exited ${formatTime(occurredAt(record))}`,
      ),
    );
    if (record.started_at) {
      const from = x(Date.parse(record.started_at));
      link.append(
        svg("rect", {
          class: `lifetime ${cause}`,
          x: from,
          y: y - 5,
          width: Math.max(1, x(exitAt) - from),
          height: 10,
          rx: 2,
        }),
      );
    }
    link.append(svg("circle", { class: `mark ${cause}`, cx: x(exitAt), cy: y, r: 7 }));
    chart.append(link);
  }
  return chart;
}

export async function renderPod({ main, url, params, signal, navigate }) {
  const { namespace, pod } = params;
  document.title = `${namespace}/${pod} history · podmortem`;
  const cursor = url.searchParams.get("cursor") ?? "";
  const page = await getJson(
    withQuery(path`/api/v1/pods/${namespace}/${pod}`, { limit: PAGE_SIZE, cursor }),
    { signal },
  );

  const heading = el(
    "h1",
    { tabindex: "-1", class: "record-title" },
    el("span", { class: "name" }, `${namespace}/${pod}`),
    " ",
    el("span", { class: "subtitle" }, "pod history"),
  );
  const content = [heading];
  if (page.items.length === 0) {
    content.push(stateMessage("empty", "No exits recorded for this pod."));
    replaceChildren(main, ...content);
    return;
  }

  content.push(
    el(
      "section",
      { class: "panel wide", "aria-labelledby": "timeline-heading" },
      el("h2", { id: "timeline-heading" }, "Instances over time"),
      el(
        "p",
        { class: "note" },
        "Each mark is one exit, coloured by cause. A bar shows the instance's lifetime where its start is known. Times are UTC.",
      ),
      timeline(page.items),
    ),
  );
  const noun = page.items.length === 1 ? "record" : "records";
  const caption = `${page.items.length} ${cursor ? "older " : ""}${noun} of this pod, expected exits included`;
  const table = recordsTable(page.items, { caption });
  const records = el(
    "section",
    { class: "results", "aria-labelledby": "pod-records-heading" },
    el("h2", { id: "pod-records-heading" }, "Records"),
    table,
  );
  if (page.next_cursor) {
    const older = el("button", { type: "button", id: "older" }, "Older");
    older.addEventListener("click", () =>
      navigate(withQuery(url.pathname, { cursor: page.next_cursor })),
    );
    records.append(el("nav", { class: "pager", "aria-label": "Pages" }, older));
  }
  records.addEventListener("open-row", (event) => navigate(event.detail));
  content.push(records);
  replaceChildren(main, ...content);
}
