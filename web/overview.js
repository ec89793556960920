// The overview: exits per hour stacked by cause, totals by cause and namespace, and the
// workloads with the most exits, over a time window kept in the URL (`?window=24h`).

import { getJson } from "./api.js";
import { causeBadge, causeClass, causeLabel, causeOrder } from "./causes.js";
import { el, replaceChildren, stateMessage, svg, timeElement, withQuery } from "./dom.js";

const WINDOWS = ["1h", "6h", "24h", "7d"];
const DEFAULT_WINDOW = "24h";
const HOUR_MS = 3600 * 1000;
const WINDOW_MS = { "1h": HOUR_MS, "6h": 6 * HOUR_MS, "24h": 24 * HOUR_MS, "7d": 168 * HOUR_MS };

// Chart geometry in SVG user units. The SVG scales to the width of its container.
const CHART = { width: 1000, height: 220, left: 44, right: 12, top: 12, bottom: 28 };
const MAX_X_LABELS = 8;

function windowFromUrl(url) {
  const value = url.searchParams.get("window");
  return WINDOWS.includes(value) ? value : DEFAULT_WINDOW;
}

function hourKey(ms) {
  return new Date(ms).toISOString().replace(/\.\d+Z$/, "Z");
}

// Returns the chart's hours, oldest first, each with its counts by cause. Summaries without
// `by_hour_and_cause` (servers before it was added) give one series of all causes.
export function hourlySeries(summary, windowName, now) {
  const counts = new Map();
  if (summary.by_hour_and_cause) {
    for (const [hour, byCause] of Object.entries(summary.by_hour_and_cause)) {
      counts.set(Date.parse(hour), byCause);
    }
  } else {
    for (const [hour, count] of Object.entries(summary.by_hour ?? {})) {
      counts.set(Date.parse(hour), { all: count });
    }
  }
  const since = Date.parse(summary.since) || now - WINDOW_MS[windowName];
  const first = Math.floor(since / HOUR_MS) * HOUR_MS;
  const last = Math.floor(now / HOUR_MS) * HOUR_MS;
  const hours = [];
  for (let hour = first; hour <= last; hour += HOUR_MS) {
    hours.push({ hour, byCause: counts.get(hour) ?? {} });
  }
  return hours;
}

function niceMaximum(value) {
  if (value <= 5) {
    return Math.max(value, 1);
  }
  const magnitude = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10]) {
    if (step * magnitude >= value) {
      return step * magnitude;
    }
  }
  return 10 * magnitude;
}

function hourLabel(ms, windowName) {
  const iso = new Date(ms).toISOString();
  return windowName === "7d" ? `${iso.slice(5, 10)} ${iso.slice(11, 16)}` : iso.slice(11, 16);
}

function seriesLabel(kind) {
  return kind === "all" ? "all causes" : causeLabel(kind);
}

function seriesClass(kind) {
  return kind === "all" ? "cause-all" : causeClass(kind);
}

// Builds the stacked bar chart as SVG, with a <title> on each bar for pointer users and a
// data table after it for screen readers and keyboard users.
function exitChart(hours, windowName) {
  const totals = hours.map(({ byCause }) => Object.values(byCause).reduce((a, b) => a + b, 0));
  const maximum = niceMaximum(Math.max(0, ...totals));
  const plotWidth = CHART.width - CHART.left - CHART.right;
  const plotHeight = CHART.height - CHART.top - CHART.bottom;
  const slot = plotWidth / hours.length;
  const barWidth = Math.max(1, slot * 0.8);
  const y = (value) => CHART.top + plotHeight - (value / maximum) * plotHeight;

  const chart = svg("svg", {
    class: "chart",
    viewBox: `0 0 ${CHART.width} ${CHART.height}`,
    role: "img",
    "aria-labelledby": "chart-title",
    preserveAspectRatio: "xMidYMid meet",
  });
  chart.append(svg("title", { id: "chart-title" }, `Exits per hour by cause, last ${windowName}`));

  for (const value of [0, maximum / 2, maximum]) {
    chart.append(
      svg("line", { class: "grid", x1: CHART.left, x2: CHART.width - CHART.right, y1: y(value), y2: y(value) }),
      svg(
        "text",
        { class: "axis-label", x: CHART.left - 6, y: y(value) + 4, "text-anchor": "end" },
        Number.isInteger(value) ? String(value) : value.toFixed(1),
      ),
    );
  }

  const labelEvery = Math.max(1, Math.ceil(hours.length / MAX_X_LABELS));
  hours.forEach(({ hour, byCause }, index) => {
    const x = CHART.left + index * slot + (slot - barWidth) / 2;
    const kinds = Object.keys(byCause).sort((a, b) => causeOrder(a) - causeOrder(b));
    const bar = svg("g", { class: "bar", "data-hour": hourKey(hour) });
    const parts = kinds.map((kind) => `${byCause[kind]} ${seriesLabel(kind)}`);
    bar.append(
      svg(
        "title",
        {},
        `${hourKey(hour)}: ${totals[index]} exits${parts.length ? ` (${parts.join(", ")})` : ""}`,
      ),
    );
    let stacked = 0;
    for (const kind of kinds) {
      const count = byCause[kind];
      const top = y(stacked + count);
      bar.append(
        svg("rect", {
          class: `segment ${seriesClass(kind)}`,
          "data-cause": kind,
          x,
          y: top,
          width: barWidth,
          height: Math.max(0, y(stacked) - top),
        }),
      );
      stacked += count;
    }
    chart.append(bar);
    if (index % labelEvery === 0) {
      chart.append(
        svg(
          "text",
          { class: "axis-label", x: x + barWidth / 2, y: CHART.height - 8, "text-anchor": "middle" },
          hourLabel(hour, windowName),
        ),
      );
    }
  });
  chart.append(
    svg("line", {
      class: "axis",
      x1: CHART.left,
      x2: CHART.width - CHART.right,
      y1: y(0),
      y2: y(0),
    }),
  );
  return chart;
}

function chartTable(hours) {
  const rows = hours
    .filter(({ byCause }) => Object.keys(byCause).length > 0)
    .map(({ hour, byCause }) => {
      const parts = Object.entries(byCause)
        .sort(([a], [b]) => causeOrder(a) - causeOrder(b))
        .map(([kind, count]) => `${count} ${seriesLabel(kind)}`);
      return el("tr", {}, el("th", { scope: "row" }, hourKey(hour)), el("td", {}, parts.join(", ")));
    });
  return el(
    "details",
    { class: "chart-data" },
    el("summary", {}, "Chart data as a table"),
    el(
      "table",
      {},
      el("thead", {}, el("tr", {}, el("th", { scope: "col" }, "Hour (UTC)"), el("th", { scope: "col" }, "Exits"))),
      el("tbody", {}, rows),
    ),
  );
}

function listLink(windowName, filters) {
  return withQuery("/terminations", { ...filters, since: windowName });
}

function legend(byCause, windowName) {
  const kinds = Object.keys(byCause).sort((a, b) => causeOrder(a) - causeOrder(b));
  return el(
    "ul",
    { class: "legend", "aria-label": "Causes in the chart" },
    kinds.map((kind) =>
      el(
        "li",
        {},
        kind === "all"
          ? el(
              "span",
              { class: "cause-badge" },
              el("span", { class: "swatch cause-all", "aria-hidden": "true" }),
              `all causes ${byCause[kind]}`,
            )
          : el("a", { href: listLink(windowName, { cause: kind }) }, causeBadge(kind), ` ${byCause[kind]}`),
      ),
    ),
  );
}

function countsTable(id, title, columnName, counts, cell, link) {
  const entries = Object.entries(counts).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  return el(
    "section",
    { class: "panel", "aria-labelledby": id },
    el("h2", { id }, title),
    entries.length === 0
      ? stateMessage("empty", "None.")
      : el(
          "table",
          { class: "counts" },
          el(
            "thead",
            {},
            el("tr", {}, el("th", { scope: "col" }, columnName), el("th", { scope: "col", class: "number" }, "Exits")),
          ),
          el(
            "tbody",
            {},
            entries.map(([name, count]) =>
              el(
                "tr",
                {},
                el("td", {}, el("a", { href: link(name) }, cell(name))),
                el("td", { class: "number" }, String(count)),
              ),
            ),
          ),
        ),
  );
}

// Returns the list link of a workload: pods without an owner filter by pod name, and the
// others by the workload.
function workloadLink(workload, windowName) {
  if (workload.kind === "Pod") {
    return listLink(windowName, { namespace: workload.namespace, pod: workload.name });
  }
  return listLink(windowName, {
    namespace: workload.namespace,
    workload: `${workload.kind}/${workload.name}`,
  });
}

function topWorkloads(summary, windowName) {
  const id = "workloads-heading";
  const title = el("h2", { id }, "Workloads with the most exits");
  if (!Array.isArray(summary.top_workloads)) {
    return el(
      "section",
      { class: "panel wide", "aria-labelledby": id },
      title,
      stateMessage("empty", "This server's summary has no top workloads."),
    );
  }
  if (summary.top_workloads.length === 0) {
    return el(
      "section",
      { class: "panel wide", "aria-labelledby": id },
      title,
      stateMessage("empty", "No exits recorded in this window."),
    );
  }
  const rows = summary.top_workloads.map((workload) =>
    el(
      "tr",
      {},
      el(
        "td",
        { class: "name" },
        el("a", { href: workloadLink(workload, windowName) }, `${workload.kind}/${workload.name}`),
      ),
      el("td", { class: "name" }, workload.namespace),
      el("td", { class: "number" }, String(workload.count)),
      el("td", { class: "nowrap" }, timeElement(workload.last_at)),
      el(
        "td",
        {},
        Object.entries(workload.by_cause ?? {})
          .sort(([a], [b]) => causeOrder(a) - causeOrder(b))
          .map(([kind, count]) => el("span", { class: "cause-count" }, causeBadge(kind), String(count))),
      ),
    ),
  );
  return el(
    "section",
    { class: "panel wide", "aria-labelledby": id },
    title,
    el(
      "table",
      { class: "workloads" },
      el(
        "thead",
        {},
        el(
          "tr",
          {},
          ["Workload", "Namespace", "Exits", "Last exit (UTC)", "Causes"].map((name) =>
            el("th", { scope: "col", class: name === "Exits" ? "number" : null }, name),
          ),
        ),
      ),
      el("tbody", {}, rows),
    ),
  );
}

function windowPicker(current) {
  return el(
    "nav",
    { class: "window-picker", "aria-label": "Time window" },
    el("span", { class: "picker-label" }, "Window:"),
    WINDOWS.map((name) =>
      el(
        "a",
        {
          href: withQuery("/", { window: name }),
          "aria-current": name === current ? "true" : null,
          "data-window": name,
        },
        name,
      ),
    ),
  );
}

export async function renderOverview({ main, url, signal }) {
  document.title = "Overview · podmortem";
  const windowName = windowFromUrl(url);
  const summary = await getJson(withQuery("/api/v1/summary", { since: windowName }), { signal });
  const hours = hourlySeries(summary, windowName, Date.now());

  const chartSection = el(
    "section",
    { class: "panel wide", "aria-labelledby": "chart-heading" },
    el("h2", { id: "chart-heading" }, `Exits per hour, last ${windowName}`),
  );
  if (summary.total === 0) {
    chartSection.append(stateMessage("empty", "No exits recorded in this window."));
  } else {
    const byCause = summary.by_hour_and_cause ? summary.by_cause : { all: summary.total };
    chartSection.append(exitChart(hours, windowName), legend(byCause, windowName), chartTable(hours));
  }

  replaceChildren(
    main,
    el("div", { class: "title-row" }, el("h1", { tabindex: "-1" }, "Overview"), windowPicker(windowName)),
    el(
      "p",
      { class: "lede" },
      `${summary.total} exits since `,
      timeElement(summary.since),
      ", expected exits (finished Jobs, rollouts) not counted.",
    ),
    chartSection,
    el(
      "div",
      { class: "columns" },
      countsTable("causes-heading", "By cause", "Cause", summary.by_cause, causeBadge, (kind) =>
        listLink(windowName, { cause: kind }),
      ),
      countsTable("namespaces-heading", "By namespace", "Namespace", summary.by_namespace, (name) => name, (name) =>
        listLink(windowName, { namespace: name }),
      ),
    ),
    topWorkloads(summary, windowName),
  );
}
