// Shared by every page: the CSRF token for script requests, "/" to jump to search, and menus that
// apply themselves (data-autosubmit: the CSP allows no inline onchange).
"use strict";
window.reelscope = {
  csrf: () => document.querySelector('meta[name="csrf-token"]').content,
  post(url, body, extra) {
    return fetch(url, Object.assign({
      method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRF-Token": reelscope.csrf()},
      body: JSON.stringify(body),
    }, extra || {}));
  },
};
document.addEventListener("keydown", (e) => {
  if (e.key !== "/" || e.ctrlKey || e.metaKey || e.altKey) return;
  const t = e.target;
  if (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName)) return;
  const box = document.getElementById("q");
  if (box) { e.preventDefault(); box.focus(); box.select(); }
  else { location.href = "/"; }
});
document.addEventListener("change", (e) => {
  if (e.target.matches && e.target.matches("select[data-autosubmit]")) e.target.form.requestSubmit();
});
