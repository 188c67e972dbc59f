// Small DOM helpers: elements built from data (text always as textContent, never as HTML).

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === false || value === null || value === undefined) continue;
    node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

// Show ``message`` in an error element (hidden when empty).
export function setError(element, message) {
  element.textContent = message || "";
  element.hidden = !message;
}

// A table body from rows of cells; a cell is text, a Node, or [content, attrs].
export function fillTable(table, header, rows) {
  const head = table.querySelector("thead");
  if (header) head.replaceChildren(el("tr", {}, ...header.map((name) => el("th", { scope: "col" }, name))));
  table.querySelector("tbody").replaceChildren(...rows);
}
