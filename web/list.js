// The list view: a filter form whose values live in the URL query string, and a table of
// records with cursor paging.

import { ApiError, getJson } from "./api.js";
import { CAUSES, causeBadge } from "./causes.js";
import {
  el,
  nameClass,
  path,
  replaceChildren,
  scrollBox,
  stateMessage,
  timeElement,
  withQuery,
} from "./dom.js";

const PAGE_SIZE = 50;

// URL query parameters of the list, in form order. `all`, `cursor` and `workload` are
// handled apart from the text fields.
const TEXT_FILTERS = [
  ["namespace", "Namespace", "any"],
  ["pod", "Pod", "any"],
  ["container", "Container", "any"],
];
// The API takes a duration before now (`30m`, `24h`, `7d`) or an RFC 3339 time.
const TIME_FILTERS = [
  ["since", "Since", "e.g. 24h"],
  ["until", "Until", "e.g. 1h"],
];

// Returns when the exit happened, with the same fallbacks as `Termination::occurred_at`
// in src/model.rs: finish time, last log line, latest event, then observation time.
export function occurredAt(record) {
  if (record.finished_at) {
    return record.finished_at;
  }
  if (record.log_last_at) {
    return record.log_last_at;
  }
  let latest = null;
  for (const event of record.events ?? []) {
    const seen = event.last_seen ?? event.first_seen;
    if (seen && (latest === null || Date.parse(seen) > Date.parse(latest))) {
      latest = seen;
    }
  }
  return latest ?? record.observed_at;
}

export function recordPath(record) {
  return path`/terminations/${record.id}`;
}

export function podPath(namespace, pod) {
  return path`/pods/${namespace}/${pod}`;
}

function exitText(record) {
  const parts = [];
  if (record.exit_code !== null && record.exit_code !== undefined) {
    parts.push(String(record.exit_code));
  }
  if (record.signal) {
    parts.push(record.signal);
  }
  return parts.length > 0 ? parts.join(" ") : "–";
}

// Creates the table of `records`, in a box that scrolls sideways when it is too wide. Each row opens its record on click or Enter, and the pod
// cell links to the pod's history.
export function recordsTable(records, { caption }) {
  const head = el(
    "thead",
    {},
    el(
      "tr",
      {},
      ["Time (UTC)", "Namespace", "Pod", "Container", "Restart", "Exit", "Cause", "Summary"].map(
        (name) => el("th", { scope: "col" }, name),
      ),
    ),
  );
  const body = el("tbody", {});
  for (const record of records) {
    const href = recordPath(record);
    const row = el(
      "tr",
      {
        class: "row-link",
        tabindex: "0",
        "data-href": href,
        "data-id": record.id,
        "data-cause": record.cause.kind,
        "aria-label": `Open ${record.namespace}/${record.pod} ${record.container} restart ${record.restart_count}`,
      },
      el("td", { class: "nowrap" }, el("a", { href, tabindex: "-1" }, timeElement(occurredAt(record)))),
      el("td", { class: nameClass(record.namespace) }, record.namespace),
      el(
        "td",
        { class: nameClass(record.pod) },
        el("a", { href: podPath(record.namespace, record.pod) }, record.pod),
      ),
      el("td", { class: nameClass(record.container) }, record.container),
      el("td", { class: "number" }, String(record.restart_count)),
      el("td", { class: "nowrap" }, exitText(record)),
      el(
        "td",
        {},
        causeBadge(record.cause.kind),
        record.cause.expected ? el("span", { class: "tag" }, "expected") : null,
      ),
      el("td", { class: "summary" }, record.cause.summary || "–"),
    );
    row.addEventListener("click", (event) => {
      if (event.target.closest("a")) {
        return;
      }
      row.dispatchEvent(new CustomEvent("open-row", { bubbles: true, detail: href }));
    });
    body.append(row);
  }
  return scrollBox(el("table", { class: "records" }, el("caption", {}, caption), head, body));
}

// Returns the filter values of the URL query string.
function readFilters(url) {
  const query = url.searchParams;
  const filters = {};
  for (const [name] of [...TEXT_FILTERS, ...TIME_FILTERS]) {
    filters[name] = query.get(name) ?? "";
  }
  filters.cause = query.get("cause") ?? "";
  filters.all = query.get("all") === "true";
  filters.workload = query.get("workload") ?? "";
  filters.cursor = query.get("cursor") ?? "";
  return filters;
}

function filterForm(filters, navigate) {
  const fields = [];
  const textField = ([name, label, example], index) => {
    const id = `filter-${name}`;
    return el(
      "div",
      { class: "field" },
      el("label", { for: id }, label),
      el("input", {
        id,
        name,
        type: "text",
        value: filters[name],
        placeholder: example,
        title: name === "since" || name === "until" ? "a duration before now (30m, 24h, 7d) or an RFC 3339 time" : null,
        autocomplete: "off",
        spellcheck: "false",
        "data-first-filter": index === 0 ? "" : null,
      }),
    );
  };
  TEXT_FILTERS.forEach((field, index) => fields.push(textField(field, index)));

  // A cause from the URL that this page does not know keeps its own option, so the form
  // shows the value that the API rejected instead of silently dropping it.
  const knownCause = filters.cause === "" || CAUSES.some(([kind]) => kind === filters.cause);
  const causeSelect = el(
    "select",
    { id: "filter-cause", name: "cause" },
    el("option", { value: "" }, "any cause"),
    CAUSES.map(([kind, label]) =>
      el("option", { value: kind, selected: filters.cause === kind }, label),
    ),
    knownCause
      ? null
      : el("option", { value: filters.cause, selected: true }, `${filters.cause} (unknown)`),
  );
  fields.push(
    el("div", { class: "field" }, el("label", { for: "filter-cause" }, "Cause"), causeSelect),
  );
  TIME_FILTERS.forEach((field) => fields.push(textField(field, 1)));
  fields.push(
    el(
      "div",
      { class: "field checkbox" },
      el("input", { id: "filter-all", name: "all", type: "checkbox", checked: filters.all }),
      el("label", { for: "filter-all" }, "Include expected exits"),
    ),
  );

  const form = el(
    "form",
    { class: "filters", role: "search", "aria-label": "Filter exits" },
    fields,
    el(
      "div",
      { class: "actions" },
      el("button", { type: "submit", id: "apply-filters" }, "Apply"),
      el("a", { href: "/terminations", class: "button-link" }, "Clear"),
    ),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const data = new FormData(form);
    const next = {};
    for (const [name] of [...TEXT_FILTERS, ...TIME_FILTERS]) {
      next[name] = String(data.get(name) ?? "").trim();
    }
    next.cause = data.get("cause") ?? "";
    next.all = data.get("all") !== null;
    next.workload = filters.workload;
    navigate(withQuery("/terminations", next));
  });
  return form;
}

function apiQuery(filters, cursor, limit) {
  return withQuery("/api/v1/terminations", {
    namespace: filters.namespace,
    pod: filters.pod,
    container: filters.container,
    cause: filters.cause,
    workload: filters.workload,
    since: filters.since,
    until: filters.until,
    all: filters.all,
    limit,
    cursor,
  });
}

// Reads one displayed page.
async function readPage(filters, signal) {
  return getJson(apiQuery(filters, filters.cursor, PAGE_SIZE), { signal });
}

function emptyMessage(filters) {
  const filtered =
    filters.namespace || filters.pod || filters.container || filters.cause || filters.workload;
  if (filters.since || filters.until) {
    return filtered
      ? "No exits match these filters in this window."
      : "No exits recorded in this window.";
  }
  return filtered ? "No exits match these filters." : "No exits recorded yet.";
}

export async function renderList({ main, url, signal, navigate }) {
  document.title = "Exits · podmortem";
  const filters = readFilters(url);
  const heading = el("h1", { tabindex: "-1" }, "Exits");
  const content = [heading, filterForm(filters, navigate)];

  let page;
  try {
    page = await readPage(filters, signal);
  } catch (error) {
    // The API rejects an invalid filter with status 400. Repeating the request cannot help,
    // so the form stays, with the rejected values, above the API's message.
    if (!(error instanceof ApiError) || error.status !== 400) {
      throw error;
    }
    document.title = "Invalid filter · podmortem";
    content.push(
      stateMessage("error", error.message),
      el("p", { class: "note" }, "Correct the filters above and apply them, or clear them."),
    );
    replaceChildren(main, ...content);
    return;
  }

  if (filters.workload) {
    const without = { ...filters, workload: "", cursor: "" };
    content.push(
      el(
        "p",
        { class: "workload-filter" },
        "Workload ",
        el("strong", {}, filters.workload),
        ". ",
        el("a", { href: withQuery("/terminations", without) }, "Show all workloads"),
      ),
    );
  }

  const results = el("section", { class: "results", "aria-labelledby": "results-heading" });
  const count = page.items.length;
  const noun = count === 1 ? "exit" : "exits";
  const summary = filters.cursor ? `${count} older ${noun}` : `${count} newest ${noun}`;
  results.append(el("h2", { id: "results-heading", class: "visually-hidden" }, "Results"));
  if (count === 0) {
    results.append(stateMessage("empty", emptyMessage(filters)));
  } else {
    results.append(recordsTable(page.items, { caption: summary }));
  }

  const pager = el("nav", { class: "pager", "aria-label": "Pages" });
  if (filters.cursor) {
    pager.append(el("a", { href: withQuery("/terminations", { ...filters, cursor: "" }) }, "Newest"));
  }
  if (page.next_cursor) {
    const older = el("button", { type: "button", id: "older" }, "Older");
    older.addEventListener("click", () =>
      navigate(withQuery("/terminations", { ...filters, cursor: page.next_cursor })),
    );
    pager.append(older);
  }
  results.append(pager);
  content.push(results);

  results.addEventListener("open-row", (event) => navigate(event.detail));
  replaceChildren(main, ...content);
}
