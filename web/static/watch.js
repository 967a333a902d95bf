// The watch page (its words for the page come from the template, in the page's language): start at ?t=, let the transcript, shots and emotion chart seek, keep the transcript
// in step with playback (switching between its text tracks), load similar videos, and tell the
// server what this user watched. The player is a <video>, or an <audio> for audio-only files.
"use strict";
(() => {
  const page = document.querySelector(".watch");
  const video = document.getElementById("player");
  if (!page) return;
  const videoId = Number(page.dataset.videoId);
  const start = Number(page.dataset.start) || 0;

  function seek(t, play) {
    if (!video) return;
    video.currentTime = t;
    if (play) video.play().catch(() => {});
  }

  if (video) {
    if (start > 0) {
      if (video.readyState >= 1) video.currentTime = start;
      else video.addEventListener("loadedmetadata", () => { if (video.currentTime < 0.01) video.currentTime = start; }, {once: true});
    }
    // playing by itself is up to the browser's autoplay rules; paused at the moment is fine too
    video.play().catch(() => {});
    document.addEventListener("click", (e) => {
      const target = e.target.closest(".seek");
      if (target) seek(Number(target.dataset.t), true);
    });
  }

  // transcript follows playback
  const list = document.getElementById("transcript");
  let segments = list ? Array.from(list.querySelectorAll("button.segment")) : [];
  const caption = document.getElementById("caption");  // audio only: the line being said, under the picture
  const shots = Array.from(document.querySelectorAll(".shots button"));
  const playhead = document.getElementById("playhead");
  const duration = Number(page.dataset.duration) || 0;
  let current = null;
  function follow() {
    const t = video.currentTime;
    let now = null;
    for (const b of segments) {
      if (Number(b.dataset.t) <= t + 0.05 && t < Number(b.dataset.end)) now = b;
    }
    if (now !== current) {
      if (current) current.removeAttribute("aria-current");
      if (caption) caption.textContent = now ? now.querySelector(".text").textContent : "";
      if (now) {
        now.setAttribute("aria-current", "true");
        // scroll the panel only, never the page, and not while the pointer is reading it
        if (!list.matches(":hover")) {
          const top = now.offsetTop - list.offsetTop;
          if (top < list.scrollTop || top + now.offsetHeight > list.scrollTop + list.clientHeight) {
            list.scrollTop = top - list.clientHeight / 3;
          }
        }
      }
      current = now;
    }
    let shot = null;
    for (const b of shots) { if (Number(b.dataset.t) <= t + 0.05) shot = b; }
    shots.forEach((b) => b.classList.toggle("current", b === shot));
    if (playhead && duration) {
      const x = Math.min(1000, (t / duration) * 1000);
      playhead.setAttribute("x1", x); playhead.setAttribute("x2", x);
    }
  }
  if (video) {
    video.addEventListener("timeupdate", follow);
    video.addEventListener("seeked", follow);
  }

  // which text track the panel shows; the player's subtitles follow, unless they are switched off
  const picker = document.getElementById("transcript-track");
  const data = document.getElementById("transcript-tracks");
  const tracks = data ? JSON.parse(data.textContent) : [];
  function clock(t) {
    const s = Math.max(0, Math.floor(t)), h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60);
    const ss = String(s % 60).padStart(2, "0");
    return h ? `${h}:${String(m).padStart(2, "0")}:${ss}` : `${m}:${ss}`;
  }
  function showTrack(key) {
    const track = tracks.find((t) => t.key === key);
    if (!track || !list) return;
    // built with textContent: cue texts are user data
    list.replaceChildren(...track.segments.map((seg) => {
      const li = document.createElement("li"), b = document.createElement("button");
      b.type = "button"; b.className = "seek segment"; b.dataset.t = seg.start; b.dataset.end = seg.end;
      const time = document.createElement("span"); time.className = "time"; time.textContent = clock(seg.start);
      const text = document.createElement("span"); text.className = "text"; text.textContent = seg.text;
      b.append(time, text); li.append(b); return li;
    }));
    list.dataset.track = key;
    if (track.language) list.lang = track.language; else list.removeAttribute("lang");
    list.scrollTop = 0;
    segments = Array.from(list.querySelectorAll("button.segment"));
    current = null;
    if (video) {
      const elements = Array.from(video.querySelectorAll("track[kind=subtitles]"));
      const on = elements.some((el) => el.track.mode === "showing");
      if (on) elements.forEach((el) => { el.track.mode = el.dataset.key === key ? "showing" : "disabled"; });
      follow();
    }
  }
  if (picker) picker.addEventListener("change", () => showTrack(picker.value));

  // similar videos (built with textContent: titles are user data)
  const similar = document.getElementById("similar");
  if (similar) {
    fetch(similar.dataset.src, {credentials: "same-origin"}).then((r) => r.ok ? r.json() : Promise.reject(r.status))
      .then((body) => {
        similar.replaceChildren();
        if (!body.similar.length) {
          const li = document.createElement("li"); li.className = "muted"; li.textContent = similar.dataset.none;
          similar.append(li); return;
        }
        for (const v of body.similar) {
          const li = document.createElement("li"), a = document.createElement("a");
          a.href = "/watch/" + v.video_id;
          if (v.thumbnail_url) {
            const img = document.createElement("img"); img.src = v.thumbnail_url; img.alt = ""; img.loading = "lazy"; a.append(img);
          } else {
            const ph = document.createElement("span"); ph.className = "thumb-missing"; a.append(ph);
          }
          const title = document.createElement("span"); title.textContent = v.title; title.translate = false; a.append(title);
          li.append(a); similar.append(li);
        }
      })
      .catch(() => {
        const li = document.createElement("li"); li.className = "muted"; li.textContent = similar.dataset.unavailable;
        similar.replaceChildren(li);
      });
  }

  // viewing events for the current user: view once, progress every 15 s watched, complete at the end
  if (!video || !page.dataset.user) return;
  let viewed = false, watched = 0, lastTick = null, lastSent = 0, completed = false;
  const send = (type, extra) => reelscope.post("/ui/events", Object.assign({
    type, video_id: videoId, position: Math.round(video.currentTime * 100) / 100,
    client_event_id: type + "-" + videoId + "-" + Date.now() + "-" + Math.random().toString(36).slice(2, 8),
  }, extra || {}), {keepalive: true}).catch(() => {});
  function flush() {
    const seconds = Math.round((watched - lastSent) * 10) / 10;
    if (seconds >= 1) { lastSent = watched; send("progress", {watch_seconds: seconds}); }
  }
  video.addEventListener("play", () => {
    lastTick = video.currentTime;
    if (!viewed) { viewed = true; send("view"); }
  });
  video.addEventListener("timeupdate", () => {
    if (video.paused || lastTick === null) return;
    const step = video.currentTime - lastTick;
    if (step > 0 && step < 2) watched += step; // seeks are jumps, not watching
    lastTick = video.currentTime;
    if (watched - lastSent >= 15) flush();
  });
  video.addEventListener("seeking", () => { lastTick = null; });
  video.addEventListener("seeked", () => { lastTick = video.currentTime; });
  video.addEventListener("pause", flush);
  video.addEventListener("ended", () => {
    flush();
    if (!completed) { completed = true; send("complete", {watch_seconds: 0}); }
  });
  window.addEventListener("pagehide", flush);
})();
