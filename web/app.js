// Entry point of the web page: picks the view for the current location, renders it into
// <main>, and handles in-page navigation, the token prompt and keyboard shortcuts.

import { ApiError, forgetToken, storeToken, storedToken } from "./api.js";
import { el, replaceChildren, stateMessage } from "./dom.js";
import { renderDetail } from "./detail.js";
import { renderList } from "./list.js";
import { renderOverview } from "./overview.js";
import { renderPod } from "./pod.js";

const main = document.getElementById("main");
const session = document.getElementById("session");
let controller = null;

const MISSING_ROUTE = { name: "missing", render: renderMissing, params: {} };

// Returns the view for a pathname and the decoded path parameters it carries. A path with
// a malformed percent-encoding (`%ZZ`) names no record or pod, so it gets the missing view.
function matchRoute(pathname) {
  const parts = pathname.split("/").filter((part) => part !== "");
  let decoded;
  try {
    decoded = parts.map((part) => decodeURIComponent(part));
  } catch (error) {
    if (error instanceof URIError) {
      return MISSING_ROUTE;
    }
    throw error;
  }
  if (parts.length === 0) {
    return { name: "overview", render: renderOverview, params: {} };
  }
  if (parts[0] === "terminations" && parts.length === 1) {
    return { name: "list", render: renderList, params: {} };
  }
  if (parts[0] === "terminations" && parts.length === 2) {
    return { name: "detail", render: renderDetail, params: { id: decoded[1] } };
  }
  if (parts[0] === "pods" && parts.length === 3) {
    return {
      name: "pod",
      render: renderPod,
      params: { namespace: decoded[1], pod: decoded[2] },
    };
  }
  return MISSING_ROUTE;
}

function renderMissing(context) {
  document.title = "Not found · podmortem";
  replaceChildren(
    context.main,
    el("h1", { tabindex: "-1" }, "Page not found"),
    stateMessage("error", "No view has the path ", el("code", {}, location.pathname), "."),
    el("p", {}, el("a", { href: "/" }, "Go to the overview")),
  );
}

// Pushes `url` (a same-origin path with query) onto the history and renders it.
export function navigate(url, { replace = false } = {}) {
  const depth = (history.state?.depth ?? 0) + (replace ? 0 : 1);
  if (replace) {
    history.replaceState({ depth }, "", url);
  } else {
    history.pushState({ depth }, "", url);
  }
  return render({ moveFocus: true });
}

async function render({ moveFocus = false } = {}) {
  controller?.abort();
  controller = new AbortController();
  const { signal } = controller;
  const url = new URL(location.href);
  const route = matchRoute(url.pathname);

  markCurrentNav(route.name);
  renderSession();
  main.setAttribute("aria-busy", "true");
  replaceChildren(main, stateMessage("loading", "Loading…"));

  const context = { main, url, params: route.params, signal, navigate };
  try {
    await route.render(context);
  } catch (error) {
    if (error.name === "AbortError" || signal.aborted) {
      return;
    }
    if (error instanceof ApiError && error.unauthorized) {
      renderTokenForm(error);
    } else {
      renderFailure(error);
    }
  } finally {
    if (!signal.aborted) {
      main.removeAttribute("aria-busy");
    }
  }
  if (moveFocus && !signal.aborted) {
    const heading = main.querySelector("h1");
    (heading ?? main).focus({ preventScroll: false });
  }
}

function renderFailure(error) {
  document.title = "Error · podmortem";
  const message = error instanceof ApiError ? error.message : `unexpected error: ${error}`;
  replaceChildren(
    main,
    el("h1", { tabindex: "-1" }, "Could not load this view"),
    stateMessage("error", message),
    el("p", {}, el("button", { type: "button", id: "retry" }, "Try again")),
  );
  main.querySelector("#retry").addEventListener("click", () => render({ moveFocus: true }));
}

// Shows the token prompt. The token is kept in sessionStorage, so it lasts until the tab
// is closed and is sent only by this page's fetches. The API's error shows only after a
// stored token was rejected, because on the first visit no token was entered yet.
function renderTokenForm(error) {
  document.title = "Token required · podmortem";
  const hadToken = storedToken() !== null;
  const input = el("input", {
    id: "token-input",
    name: "token",
    type: "password",
    autocomplete: "off",
    spellcheck: "false",
    required: true,
  });
  const form = el(
    "form",
    { class: "token-form", "aria-labelledby": "token-heading" },
    el("label", { for: "token-input" }, "Bearer token"),
    input,
    el("button", { type: "submit" }, "Use token"),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    storeToken(input.value.trim());
    render({ moveFocus: true });
  });
  replaceChildren(
    main,
    el("h1", { id: "token-heading", tabindex: "-1" }, "Token required"),
    el(
      "p",
      {},
      hadToken
        ? "The server rejected the stored token. Enter the token from the server's --token-file."
        : "This server requires a bearer token. Enter the token from the server's --token-file.",
    ),
    hadToken ? stateMessage("error", error.message) : null,
    form,
  );
  input.focus();
}

function renderSession() {
  if (storedToken() === null) {
    replaceChildren(session);
    return;
  }
  const button = el("button", { type: "button", id: "forget-token" }, "Forget token");
  button.addEventListener("click", () => {
    forgetToken();
    render({ moveFocus: true });
  });
  replaceChildren(session, button);
}

function markCurrentNav(name) {
  for (const link of document.querySelectorAll("[data-nav]")) {
    const current = link.dataset.nav === name;
    if (current) {
      link.setAttribute("aria-current", "page");
    } else {
      link.removeAttribute("aria-current");
    }
  }
}

// Follows same-origin links inside the page without a full reload. Clicks with a modifier
// key or another button keep the browser's default, such as opening a new tab.
document.addEventListener("click", (event) => {
  if (event.defaultPrevented || event.button !== 0) {
    return;
  }
  if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) {
    return;
  }
  const link = event.target.closest("a[href]");
  if (!link || link.hasAttribute("download") || link.getAttribute("target")) {
    return;
  }
  const href = link.getAttribute("href");
  if (href.startsWith("#")) {
    return;
  }
  const target = new URL(href, location.href);
  if (target.origin !== location.origin || target.pathname.startsWith("/api/")) {
    return;
  }
  event.preventDefault();
  navigate(target.pathname + target.search);
});

function isTyping(target) {
  return target.closest("input, textarea, select, [contenteditable]") !== null;
}

document.addEventListener("keydown", (event) => {
  if (event.ctrlKey || event.metaKey || event.altKey) {
    return;
  }
  if (event.key === "/" && !isTyping(event.target)) {
    event.preventDefault();
    focusFirstFilter();
  } else if (event.key === "Enter" && event.target.matches("tr[data-href]")) {
    event.preventDefault();
    navigate(event.target.dataset.href);
  } else if (event.key === "Escape" && !isTyping(event.target)) {
    leaveDetail(event);
  }
});

async function focusFirstFilter() {
  let filter = main.querySelector("[data-first-filter]");
  if (!filter) {
    await navigate("/terminations");
    filter = main.querySelector("[data-first-filter]");
  }
  filter?.focus();
}

// Escape on a record or a pod goes back to where the user came from inside the page, or
// to the list when the page was opened on that view.
function leaveDetail(event) {
  const route = matchRoute(location.pathname).name;
  if (route !== "detail" && route !== "pod") {
    return;
  }
  event.preventDefault();
  if ((history.state?.depth ?? 0) > 0) {
    history.back();
  } else {
    navigate("/terminations", { replace: true });
  }
}

window.addEventListener("popstate", () => render({ moveFocus: true }));

history.replaceState({ depth: history.state?.depth ?? 0 }, "", location.href);
render();
