// The admin page keeps its index counts and job table live by re-fetching them while it is open.
"use strict";
(() => {
  const box = document.getElementById("jobs");
  if (!box) return;
  let busy = false;
  async function refresh() {
    if (busy || document.hidden) return;
    busy = true;
    try {
      const response = await fetch(box.dataset.poll, {credentials: "same-origin"});
      if (response.ok) box.innerHTML = await response.text(); // our own escaped fragment
    } catch (e) { /* the next tick tries again */ } finally { busy = false; }
  }
  setInterval(refresh, 1500);
})();
