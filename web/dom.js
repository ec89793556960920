// DOM building helpers. Every string from the API is cluster data and untrusted, so this
// module inserts text only as text nodes and sets only the attributes its callers name.
// Nothing here parses HTML.

const SVG_NS = "http://www.w3.org/2000/svg";

// Creates an HTML element. `attributes` maps names to values (null and false skip the
// attribute, true sets it empty). Children are nodes, or strings and numbers that become
// text nodes. Arrays of children are flattened, and null or undefined children are skipped.
export function el(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  setAttributes(element, attributes);
  append(element, children);
  return element;
}

// Creates an SVG element, with the same arguments as `el`.
export function svg(tag, attributes = {}, ...children) {
  const element = document.createElementNS(SVG_NS, tag);
  setAttributes(element, attributes);
  append(element, children);
  return element;
}

function setAttributes(element, attributes) {
  for (const [name, value] of Object.entries(attributes)) {
    // This helper rejects inline styles, because the CSP blocks `style` attributes, and
    // event handler attributes, because handlers are attached with addEventListener.
    if (name === "style" || name.startsWith("on")) {
      throw new Error(`attribute ${name} is not allowed`);
    }
    if (value === null || value === undefined || value === false) {
      continue;
    }
    element.setAttribute(name, value === true ? "" : String(value));
  }
}

function append(parent, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) {
      continue;
    }
    if (child instanceof Node) {
      parent.append(child);
    } else {
      parent.append(document.createTextNode(visibleControls(String(child))));
    }
  }
}

// Returns `text` with control characters other than tab and newline replaced by their
// Unicode control pictures (ESC becomes U+241B), so terminal escapes in log lines and
// messages show as what they are instead of as blank boxes.
export function visibleControls(text) {
  return text.replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, (char) =>
    char === "\u007f" ? "\u2421" : String.fromCharCode(0x2400 + char.charCodeAt(0)),
  );
}

// Removes every child of `node` and appends `children` in their place.
export function replaceChildren(node, ...children) {
  node.replaceChildren();
  append(node, children);
}

// Builds a same-origin path from literal segments and untrusted parts. Each part is
// percent-encoded, so a name with `/`, `?` or `#` stays one path segment.
export function path(strings, ...parts) {
  let result = strings[0];
  parts.forEach((part, index) => {
    result += encodeURIComponent(String(part)) + strings[index + 1];
  });
  return result;
}

// Returns a path with a query string made of the non-empty entries of `params`.
export function withQuery(pathname, params) {
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    if (value !== null && value !== undefined && value !== "" && value !== false) {
      query.set(name, value === true ? "true" : String(value));
    }
  }
  const text = query.toString();
  return text ? `${pathname}?${text}` : pathname;
}

// Formats an RFC 3339 time as `YYYY-MM-DD HH:MM:SSZ` in UTC, or returns a dash when missing.
export function formatTime(text) {
  if (!text) {
    return "–";
  }
  const time = new Date(text);
  if (Number.isNaN(time.getTime())) {
    return String(text);
  }
  return time.toISOString().replace("T", " ").replace(/\.\d+Z$/, "Z");
}

// Creates a `<time>` element for an RFC 3339 time.
export function timeElement(text) {
  return el("time", { datetime: text || null }, formatTime(text));
}

// Creates a paragraph for an empty, loading or error state.
export function stateMessage(kind, ...children) {
  const attributes = { class: `state ${kind}` };
  if (kind === "error") {
    attributes.role = "alert";
  } else if (kind === "loading") {
    attributes.role = "status";
  }
  return el("p", attributes, ...children);
}

// Names up to this many characters stay on one line in tables. Kubernetes pod names of
// Deployments are at most about 60 characters, and longer ones (up to 253) may break.
const NAME_WRAP_CHARS = 64;

// Returns the class of a table cell that shows the Kubernetes name `name`.
export function nameClass(name) {
  return String(name).length > NAME_WRAP_CHARS ? "name long-name" : "name";
}

// Wraps `table` in a box that scrolls sideways when the table is wider than its card.
export function scrollBox(table) {
  return el("div", { class: "table-scroll" }, table);
}

// Returns `count` followed by the singular or plural form of `noun`, as in "1 exit" and
// "2 exits". `plural` defaults to `noun` with an "s".
export function countOf(count, noun, plural = `${noun}s`) {
  return `${count} ${count === 1 ? noun : plural}`;
}
