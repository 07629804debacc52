// Building DOM without innerHTML: every value is text, so nothing from the API is ever markup.

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on")) el.addEventListener(name.slice(2), value);
    else if (name === "class") el.className = value;
    else if (name === "dataset") Object.assign(el.dataset, value);
    else if (value === true) el.setAttribute(name, "");
    else el.setAttribute(name, String(value));
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

// The screen being shown: a view that finishes loading after the user moved on draws nothing.
let screen = null;
export function showing(hash) { screen = hash; }

export function mount(...children) {
  const main = document.getElementById("main");
  if (screen !== null && location.hash !== screen) return main;
  main.replaceChildren();
  append(main, children);
  return main;
}

let flashTimer = null;
export function flash(message, kind = "ok") {
  const el = document.getElementById("flash");
  el.className = `flash ${kind}`;
  el.textContent = message;
  clearTimeout(flashTimer);
  flashTimer = setTimeout(() => { el.textContent = ""; el.className = "flash"; }, 6000);
}

// A long action: the busy bar shows what is running until it ends.
export async function busy(text, action) {
  const bar = document.getElementById("busy");
  document.getElementById("busy-text").textContent = text;
  bar.hidden = false;
  try {
    return await action();
  } finally {
    bar.hidden = true;
  }
}

export function show(value) {
  if (value === undefined || value === null) return "—";
  if (typeof value === "string") return value;
  return JSON.stringify(value, null, 2);
}

export function when(iso) {
  return iso ? new Date(iso).toLocaleString() : "";
}

export function badge(entry) {
  return [
    h("span", { class: `badge ${entry.status}` }, entry.status),
    entry.pending_edit ? h("span", { class: "badge pending" }, "edit pending") : null,
  ];
}

export function title(name) {
  return name.replaceAll("-", " ").replace(/^./, (c) => c.toUpperCase());
}

// Replace an element's children (null and false left out, as in h()).
export function fill(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}
