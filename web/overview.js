// The overview: exits per hour, day or week stacked by cause, totals by cause and
// namespace, and the workloads with the most exits, over a time window kept in the URL
// (`?window=24h`, or `?window=all` for all time).

import { getJson } from "./api.js";
import { causeBadge, causeClass, causeLabel, causeOrder } from "./causes.js";
import {
  countOf,
  el,
  nameClass,
  replaceChildren,
  scrollBox,
  stateMessage,
  svg,
  timeElement,
  withQuery,
} from "./dom.js";

const WINDOWS = ["1h", "6h", "24h", "7d", "30d", "all"];
const DEFAULT_WINDOW = "24h";
const HOUR_MS = 3600 * 1000;
const DAY_MS = 24 * HOUR_MS;
const WEEK_MS = 7 * DAY_MS;
const WINDOW_MS = {
  "1h": HOUR_MS,
  "6h": 6 * HOUR_MS,
  "24h": DAY_MS,
  "7d": 7 * DAY_MS,
  "30d": 30 * DAY_MS,
};
// The summary's `bucket` of the short windows, so their charts have more than a few bars.
const FINE_BUCKETS = { "1h": "1m", "6h": "5m" };
// `since` of the all-time window. The summary API needs a start, and no record is older.
const ALL_TIME_SINCE = "1970-01-01T00:00:00Z";
// Windows up to this length get one bar per hour, and longer ones one bar per day or week.
const MAX_HOURLY_MS = 7 * DAY_MS;
// Maximum number of bars of the all-time chart before days become weeks or several weeks.
const MAX_BARS = 100;
// 1970-01-01 was a Thursday, so weeks that start on Monday begin 4 days after the epoch.
const MONDAY_OFFSET_MS = 4 * DAY_MS;

// Chart geometry in SVG user units. The SVG scales to the width of its container.
const CHART = { width: 1000, height: 220, left: 44, right: 12, top: 12, bottom: 28 };
const MAX_X_LABELS = 8;
// Maximum number of steps between the y axis' whole-number ticks.
const MAX_Y_STEPS = 4;

// Returns the window of the URL, and the rejected `window` value when the URL names one
// that this page does not offer.
function windowFromUrl(url) {
  const value = url.searchParams.get("window");
  if (value === null || value === "") {
    return { windowName: DEFAULT_WINDOW, rejected: null };
  }
  if (WINDOWS.includes(value)) {
    return { windowName: value, rejected: null };
  }
  return { windowName: DEFAULT_WINDOW, rejected: value };
}

function windowText(windowName) {
  return windowName === "all" ? "all time" : `last ${windowName}`;
}

function isoDate(ms) {
  return new Date(ms).toISOString().slice(0, 10);
}

function hourKey(ms) {
  return new Date(ms).toISOString().replace(/\.\d+Z$/, "Z");
}

// Returns the start of the bucket that contains `ms`, for buckets of `width` milliseconds
// that begin `offset` milliseconds after the epoch.
function bucketStart(ms, width, offset) {
  return Math.floor((ms - offset) / width) * width + offset;
}

// Returns the bucket size of a window's chart: hours up to 7 days, days for 30 days, and
// for all time days, weeks or whole multiples of a week, so there are at most MAX_BARS.
function chartUnit(windowName, firstMs, nowMs, bucketSeconds) {
  if (bucketSeconds < 3600) {
    const minutes = bucketSeconds / 60;
    const name = minutes === 1 ? "minute" : `${minutes} minutes`;
    return { name, width: bucketSeconds * 1000, offset: 0, fine: true };
  }
  if (windowName !== "all" && WINDOW_MS[windowName] <= MAX_HOURLY_MS) {
    return { name: "hour", width: HOUR_MS, offset: 0 };
  }
  const days = (bucketStart(nowMs, DAY_MS, 0) - bucketStart(firstMs, DAY_MS, 0)) / DAY_MS + 1;
  if (windowName !== "all" || days <= MAX_BARS) {
    return { name: "day", width: DAY_MS, offset: 0 };
  }
  const weeks = Math.ceil((days + 6) / 7);
  const perBar = Math.ceil(weeks / MAX_BARS);
  return {
    name: perBar === 1 ? "week" : `${perBar} weeks`,
    width: perBar * WEEK_MS,
    offset: MONDAY_OFFSET_MS,
  };
}

// Returns the chart's bars, oldest first, each with its counts by cause, and their unit.
// The API counts by hour, so longer windows add the hours of each day or week up here.
// Summaries without `by_hour_and_cause` (servers before it was added) give one series of
// all causes.
// A short window's summary has buckets of minutes in `by_bucket_and_cause`, which are drawn
// as they are.
export function chartSeries(summary, windowName, now) {
  const hourly = new Map();
  const fine = FINE_BUCKETS[windowName] && summary.by_bucket_and_cause && summary.bucket_seconds < 3600;
  const bucketSeconds = fine ? summary.bucket_seconds : 3600;
  if (fine) {
    for (const [start, byCause] of Object.entries(summary.by_bucket_and_cause)) {
      hourly.set(Date.parse(start), byCause);
    }
  } else if (summary.by_hour_and_cause) {
    for (const [hour, byCause] of Object.entries(summary.by_hour_and_cause)) {
      hourly.set(Date.parse(hour), byCause);
    }
  } else {
    for (const [hour, count] of Object.entries(summary.by_hour ?? {})) {
      hourly.set(Date.parse(hour), { all: count });
    }
  }
  // The all-time chart starts at the oldest exit instead of at 1970.
  let since;
  if (windowName === "all") {
    since = hourly.size > 0 ? Math.min(...hourly.keys()) : now;
  } else {
    since = Date.parse(summary.since) || now - WINDOW_MS[windowName];
  }
  const unit = chartUnit(windowName, since, now, bucketSeconds);

  const counts = new Map();
  for (const [hour, byCause] of hourly) {
    const start = bucketStart(hour, unit.width, unit.offset);
    const bucket = counts.get(start) ?? {};
    for (const [kind, count] of Object.entries(byCause)) {
      bucket[kind] = (bucket[kind] ?? 0) + count;
    }
    counts.set(start, bucket);
  }
  const first = bucketStart(since, unit.width, unit.offset);
  const last = bucketStart(now, unit.width, unit.offset);
  const bars = [];
  for (let start = first; start <= last; start += unit.width) {
    bars.push({ start, byCause: counts.get(start) ?? {} });
  }
  return { unit, bars };
}

// Returns the ticks of the y axis: whole numbers from 0, a step of 1, 2 or 5 times a power
// of ten apart, with the top tick at or above `maximum`.
function yTicks(maximum) {
  const factors = [1, 2, 5];
  let step = 1;
  for (let index = 1; Math.ceil(maximum / step) > MAX_Y_STEPS; index += 1) {
    step = factors[index % 3] * 10 ** Math.floor(index / 3);
  }
  const top = Math.max(1, Math.ceil(maximum / step)) * step;
  const ticks = [];
  for (let value = 0; value <= top; value += step) {
    ticks.push(value);
  }
  return ticks;
}

// Returns the x axis label of a bar: the hour for hourly bars (with the date for 7 days),
// and the date of the day or of the week's Monday, with the year when the chart spans two.
function barLabel(ms, unit, windowName, spansYears) {
  const iso = new Date(ms).toISOString();
  if (unit.fine) {
    return iso.slice(11, 16);
  }
  if (unit.name === "hour") {
    return windowName === "7d" ? `${iso.slice(5, 10)} ${iso.slice(11, 16)}` : iso.slice(11, 16);
  }
  return spansYears ? iso.slice(0, 10) : iso.slice(5, 10);
}

// Returns the key of a bar in its <title> and in the data table.
function barKey(ms, unit) {
  return unit.name === "hour" || unit.fine ? hourKey(ms) : isoDate(ms);
}

function seriesLabel(kind) {
  return kind === "all" ? "all causes" : causeLabel(kind);
}

function seriesClass(kind) {
  return kind === "all" ? "cause-all" : causeClass(kind);
}

// Builds the stacked bar chart as SVG, with a <title> on each bar for pointer users and a
// data table after it for screen readers and keyboard users.
function exitChart({ unit, bars }, windowName) {
  const totals = bars.map(({ byCause }) => Object.values(byCause).reduce((a, b) => a + b, 0));
  const ticks = yTicks(Math.max(0, ...totals));
  const maximum = ticks[ticks.length - 1];
  const plotWidth = CHART.width - CHART.left - CHART.right;
  const plotHeight = CHART.height - CHART.top - CHART.bottom;
  const slot = plotWidth / bars.length;
  const barWidth = Math.max(1, slot * 0.8);
  const y = (value) => CHART.top + plotHeight - (value / maximum) * plotHeight;
  const spansYears =
    new Date(bars[0].start).getUTCFullYear() !== new Date(bars[bars.length - 1].start).getUTCFullYear();

  const chart = svg("svg", {
    class: "chart",
    viewBox: `0 0 ${CHART.width} ${CHART.height}`,
    role: "img",
    "aria-labelledby": "chart-title",
    preserveAspectRatio: "xMidYMid meet",
    "data-unit": unit.name,
  });
  chart.append(
    svg("title", { id: "chart-title" }, `Exits per ${unit.name} by cause, ${windowText(windowName)}`),
  );

  for (const value of ticks) {
    chart.append(
      svg("line", { class: "grid", x1: CHART.left, x2: CHART.width - CHART.right, y1: y(value), y2: y(value) }),
      svg(
        "text",
        { class: "axis-label y-tick", x: CHART.left - 6, y: y(value) + 4, "text-anchor": "end" },
        String(value),
      ),
    );
  }

  const labelEvery = Math.max(1, Math.ceil(bars.length / MAX_X_LABELS));
  bars.forEach(({ start, byCause }, index) => {
    const x = CHART.left + index * slot + (slot - barWidth) / 2;
    const kinds = Object.keys(byCause).sort((a, b) => causeOrder(a) - causeOrder(b));
    const bar = svg("g", { class: "bar", "data-start": hourKey(start) });
    const parts = kinds.map((kind) => `${byCause[kind]} ${seriesLabel(kind)}`);
    bar.append(
      svg(
        "title",
        {},
        `${barKey(start, unit)}: ${countOf(totals[index], "exit")}${parts.length ? ` (${parts.join(", ")})` : ""}`,
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
          { class: "axis-label x-tick", x: x + barWidth / 2, y: CHART.height - 8, "text-anchor": "middle" },
          barLabel(start, unit, windowName, spansYears),
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

function chartTable({ unit, bars }) {
  const rows = bars
    .filter(({ byCause }) => Object.keys(byCause).length > 0)
    .map(({ start, byCause }) => {
      const parts = Object.entries(byCause)
        .sort(([a], [b]) => causeOrder(a) - causeOrder(b))
        .map(([kind, count]) => `${count} ${seriesLabel(kind)}`);
      return el("tr", {}, el("th", { scope: "row" }, barKey(start, unit)), el("td", {}, parts.join(", ")));
    });
  const keyHeading = unit.fine
    ? "Time (UTC)"
    : ({ hour: "Hour (UTC)", day: "Day (UTC)" }[unit.name] ?? "Week from (UTC)");
  return el(
    "details",
    { class: "chart-data" },
    el("summary", {}, "Chart data as a table"),
    scrollBox(
      el(
        "table",
        {},
        el("thead", {}, el("tr", {}, el("th", { scope: "col" }, keyHeading), el("th", { scope: "col" }, "Exits"))),
        el("tbody", {}, rows),
      ),
    ),
  );
}

// Returns the list link of `filters` over the window. The list has no `since` for all time.
function listLink(windowName, filters) {
  return withQuery("/terminations", { ...filters, since: windowName === "all" ? "" : windowName });
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
      : scrollBox(
          el(
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
      emptyWindowMessage(windowName),
    );
  }
  const rows = summary.top_workloads.map((workload) =>
    el(
      "tr",
      {},
      el(
        "td",
        { class: nameClass(`${workload.kind}/${workload.name}`) },
        el("a", { href: workloadLink(workload, windowName) }, `${workload.kind}/${workload.name}`),
      ),
      el("td", { class: nameClass(workload.namespace) }, workload.namespace),
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
    scrollBox(
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
    ),
  );
}

// Creates the empty state of a window, with a link to the all-time window unless the
// window is all time already.
function emptyWindowMessage(windowName) {
  if (windowName === "all") {
    return stateMessage("empty", "No exits recorded yet.");
  }
  return stateMessage(
    "empty",
    "No exits recorded in this window. ",
    el("a", { href: withQuery("/", { window: "all" }), "data-window-link": "all" }, "Show all time"),
    ".",
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
        name === "all" ? "all time" : name,
      ),
    ),
  );
}

// Creates the note that the URL's `window` value was not one of WINDOWS and was replaced.
function rejectedWindowNote(rejected) {
  return el(
    "p",
    { class: "state notice", role: "status", id: "window-notice" },
    "The window ",
    el("code", {}, rejected),
    ` is not one of ${WINDOWS.join(", ")}, so this shows the default window, ${DEFAULT_WINDOW}.`,
  );
}

export async function renderOverview({ main, url, signal }) {
  document.title = "Overview · podmortem";
  const { windowName, rejected } = windowFromUrl(url);
  const since = windowName === "all" ? ALL_TIME_SINCE : windowName;
  const bucket = FINE_BUCKETS[windowName];
  const summary = await getJson(withQuery("/api/v1/summary", { since, bucket }), { signal });
  const series = chartSeries(summary, windowName, Date.now());

  const chartSection = el(
    "section",
    { class: "panel wide", "aria-labelledby": "chart-heading" },
    el("h2", { id: "chart-heading" }, `Exits per ${series.unit.name}, ${windowText(windowName)}`),
  );
  if (summary.total === 0) {
    chartSection.append(emptyWindowMessage(windowName));
  } else {
    const byCause = summary.by_hour_and_cause ? summary.by_cause : { all: summary.total };
    chartSection.append(exitChart(series, windowName), legend(byCause, windowName), chartTable(series));
  }

  const period =
    windowName === "all" ? [" in all time"] : [" since ", timeElement(summary.since)];
  replaceChildren(
    main,
    el("div", { class: "title-row" }, el("h1", { tabindex: "-1" }, "Overview"), windowPicker(windowName)),
    rejected === null ? null : rejectedWindowNote(rejected),
    el(
      "p",
      { class: "lede" },
      countOf(summary.total, "exit"),
      ...period,
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
