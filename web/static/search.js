// Instant search: results follow the box as you type; the URL follows the results (shareable, and
// Back steps through earlier searches); arrow keys move between the search box and the results.
"use strict";
(() => {
  const form = document.getElementById("search-form");
  const box = document.getElementById("q");
  const results = document.getElementById("results");
  if (!form || !box || !results) return;
  let timer = null, latest = 0, pushNext = true;

  function query() {
    const params = new URLSearchParams();
    for (const [name, value] of new FormData(form)) {
      const v = String(value).trim();
      if (v && !(name === "mode" && v === "hybrid")) params.set(name, v);
    }
    return params.toString();
  }

  async function update(history_mode) {
    const qs = query();
    const url = "/" + (qs ? "?" + qs : "");
    if (history_mode && url !== location.pathname + location.search) {
      history[history_mode === "push" ? "pushState" : "replaceState"]({q: qs}, "", url);
    }
    document.title = (box.value.trim() ? box.value.trim() + " · " : "") + "Reelscope";
    const ticket = ++latest;
    results.setAttribute("aria-busy", "true");
    try {
      const response = await fetch(url, {headers: {"X-Fragment": "results"}, credentials: "same-origin"});
      const html = await response.text();
      if (ticket !== latest) return; // a newer query already answered
      results.innerHTML = html; // our own server-rendered, escaped fragment
      const showing = results.textContent.trim() !== "";
      document.querySelectorAll(".recent").forEach((el) => { el.hidden = showing; });
    } finally {
      if (ticket === latest) results.setAttribute("aria-busy", "false");
    }
  }

  box.addEventListener("focus", () => { pushNext = true; });
  box.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(() => { update(pushNext ? "push" : "replace"); pushNext = false; }, 250);
  });
  form.addEventListener("change", (e) => { if (e.target !== box) update("push"); });
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    clearTimeout(timer);
    update(pushNext ? "push" : "replace");
    pushNext = false;
  });
  window.addEventListener("popstate", () => {
    const params = new URLSearchParams(location.search);
    box.value = params.get("q") || "";
    for (const el of form.elements) {
      if (el.tagName === "SELECT") el.value = params.get(el.name) || (el.name === "mode" ? "hybrid" : "");
    }
    update(null);
  });

  // keyboard: down from the box into the grid, arrows around it, Escape back to the box
  function links() { return Array.from(results.querySelectorAll(".moment-link")); }
  box.addEventListener("keydown", (e) => {
    if (e.key === "ArrowDown" && links().length) { e.preventDefault(); links()[0].focus(); }
  });
  results.addEventListener("keydown", (e) => {
    const all = links(), i = all.indexOf(document.activeElement);
    if (i < 0) return;
    if (e.key === "Escape") { e.preventDefault(); box.focus(); return; }
    const top = (el) => el.getBoundingClientRect().top;
    const perRow = all.filter((el) => Math.abs(top(el) - top(all[0])) < 4).length || 1;
    const step = {ArrowRight: 1, ArrowLeft: -1, ArrowDown: perRow, ArrowUp: -perRow}[e.key];
    if (step === undefined) return;
    e.preventDefault();
    const j = i + step;
    if (j < 0) box.focus();
    else if (j < all.length) all[j].focus();
  });
})();
