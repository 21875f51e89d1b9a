// The hall display: a snapshot, then live calls over a websocket; announcements queued one after
// another; reconnects by itself (reconnect.js) and resyncs when it sees a gap in `seq`. The list of
// last calls holds one row per number (a recall moves its row to the top, marked) and as many rows as
// the screen has room for. A supervisor's message shows in a band of its own until its end (the
// page's clock takes it down, after a reload too) and is spoken once, after the calls queued before it.
"use strict";

(() => {
  const screen = document.getElementById("screen");
  const centre = screen.dataset.centre;
  const lang = screen.dataset.lang;
  const { local: digits, count, join, arabic: arabicDigits } = DorWords;
  const text = JSON.parse(document.getElementById("display-text").textContent);
  const $ = (id) => document.getElementById(id);
  const RECENT = 8; // at most; fewer when the screen has no room for them
  let seq = 0;
  let services = {};
  let muted = screen.dataset.muted === "1";

  // --- clock in the centre's time zone ---
  const dateFormat = new Intl.DateTimeFormat(lang === "ar" ? "ar-SY" : "en-GB",
    { timeZone: screen.dataset.timezone, weekday: "long", day: "numeric", month: "long", year: "numeric",
      numberingSystem: arabicDigits ? "arab" : "latn" });
  const timeFormat = new Intl.DateTimeFormat(lang === "ar" ? "ar-SY" : "en-GB",
    { timeZone: screen.dataset.timezone, hour: "2-digit", minute: "2-digit", numberingSystem: arabicDigits ? "arab" : "latn" });
  function tick() {
    const now = new Date();
    if (hallMessage && now.getTime() >= Date.parse(hallMessage.ends_at)) showMessage(null);
    $("date").textContent = dateFormat.format(now);
    $("time").textContent = timeFormat.format(now);
  }

  // --- announcements: one at a time, in order ---
  const queue = [];
  const player = new Audio();
  let playing = false;
  // What was played and when: lets anyone (and the browser tests) check nothing overlapped.
  window.dorAnnouncements = [];
  function announce(number, counter) {
    say(`/api/v1/centres/${centre}/announcements/${encodeURIComponent(number)}.wav?counter=${counter}`);
  }
  function say(src) {
    if (muted) return;
    queue.push(src);
    playNext();
  }
  function playNext() {
    if (playing || queue.length === 0) return;
    playing = true;
    player.src = queue.shift();
    window.dorAnnouncements.push({ src: player.src, started: performance.now(), ended: null });
    player.play().catch(() => {
      // Autoplay is blocked until someone touches the screen once (or the kiosk browser allows it).
      $("enable-sound").hidden = false;
      playing = false;
    });
  }
  player.addEventListener("ended", () => {
    const last = window.dorAnnouncements[window.dorAnnouncements.length - 1];
    if (last) last.ended = performance.now();
    playing = false;
    playNext();
  });
  player.addEventListener("error", () => { playing = false; playNext(); });
  $("enable-sound").addEventListener("click", () => { $("enable-sound").hidden = true; playNext(); });

  // --- the supervisor's message ---
  let hallMessage = null;
  function showMessage(shown) {
    hallMessage = shown && Date.parse(shown.ends_at) > Date.now() ? shown : null;
    const band = $("hall-message");
    band.hidden = !hallMessage;
    for (const line of band.querySelectorAll("[data-text]")) {
      line.textContent = hallMessage ? hallMessage[line.dataset.text] : "";
    }
    fitRecent(); // the band took room from the list, or gave it back
  }

  // --- rendering ---
  function showCall(number, counter) {
    $("now-number").textContent = digits(number);
    $("now-counter").textContent = digits(counter);
    const now = document.querySelector(".now");
    now.classList.remove("flash");
    void now.offsetWidth; // restart the animation
    now.classList.add("flash");
  }

  function addRecent(number, counter, recalled) {
    const list = $("recent");
    for (const old of [...list.rows]) if (old.dataset.number === number) old.remove();
    const row = document.createElement("tr");
    row.dataset.number = number;
    row.innerHTML = '<td><bdi dir="ltr"></bdi></td><td></td>';
    row.cells[0].firstChild.textContent = digits(number);
    row.cells[1].textContent = digits(counter);
    if (recalled) {
      row.classList.add("recalled");
      const again = document.createElement("span");
      again.className = "again";
      again.textContent = text.again;
      row.cells[0].append(" ", again);
    }
    list.prepend(row);
    while (list.rows.length > RECENT) list.deleteRow(-1);
    fitRecent();
  }

  // Drops the oldest rows until the list ends inside its panel, at any screen size or count.
  function fitRecent() {
    const panel = document.querySelector(".recent"), list = $("recent");
    const bottom = panel.getBoundingClientRect().bottom - parseFloat(getComputedStyle(panel).paddingBottom);
    while (list.rows.length > 1 && list.rows[list.rows.length - 1].getBoundingClientRect().bottom > bottom) {
      list.deleteRow(-1);
    }
  }

  function renderWaits(waiting) {
    $("waits").innerHTML = "";
    for (const [code, row] of Object.entries(waiting)) {
      const li = document.createElement("li");
      const name = services[code] ? services[code][lang] || services[code].ar : code;
      const minutes = Math.round(row.estimated_wait_s / 60);
      li.innerHTML = "<strong></strong><span></span>";
      li.querySelector("strong").textContent = name;
      li.querySelector("span").textContent = row.waiting === 0 ? text.none
        : join([count(text.waiting, row.waiting), count(text.minutes, Math.max(1, minutes))]);
      li.dataset.service = code;
      $("waits").appendChild(li);
    }
  }

  let statusTimer = null;
  function refreshWaits() {
    clearTimeout(statusTimer);
    statusTimer = setTimeout(async () => {
      try {
        const status = await (await fetch(`/api/v1/centres/${centre}/status`)).json();
        renderWaits(Object.fromEntries(status.services.map((s) => [s.code, s])));
      } catch (error) { /* the next event tries again */ }
    }, 300);
  }

  function onSnapshot(message) {
    seq = message.seq;
    services = message.services;
    $("recent").innerHTML = "";
    for (const call of [...message.recent].reverse()) addRecent(call.number, call.counter, call.type === "recalled");
    const latest = message.recent[0];
    if (latest) {
      $("now-number").textContent = digits(latest.number);
      $("now-counter").textContent = digits(latest.counter);
    }
    renderWaits(message.waiting);
    showMessage(message.hall_message);
  }

  function onEvent(message) {
    if (message.seq <= seq) return;
    if (message.seq !== seq + 1) { resync(); return; } // a gap: something was missed
    seq = message.seq;
    if (message.type === "called" || message.type === "recalled") {
      showCall(message.number, message.counter);
      addRecent(message.number, message.counter, message.type === "recalled");
      announce(message.number, message.counter);
    } else if (message.type === "hall_message") {
      showMessage(message);
      say(`/api/v1/centres/${centre}/hall-message/${message.seq}.wav`);
    } else if (message.type === "hall_message_cleared") {
      showMessage(null);
    }
    refreshWaits();
  }

  window.addEventListener("resize", fitRecent);
  tick();
  setInterval(tick, 1000);

  // --- the connection (reconnect.js: when to try again) ---
  const link = DorReconnect.follow(`/ws/centres/${centre}/display`, {
    open: () => { $("connection").hidden = true; },
    message: (event) => {
      const message = JSON.parse(event.data);
      if (message.type === "snapshot") onSnapshot(message); else onEvent(message);
      screen.dataset.seq = String(seq);
    },
    close: () => { $("connection").hidden = false; },
  });
  function resync() { link.reopen(); }
})();
