// The ticket tracker: live over a websocket; vibrates and chimes when the ticket is called.
"use strict";

(() => {
  const box = document.getElementById("tracker");
  const token = box.dataset.token;
  const text = JSON.parse(document.getElementById("tracker-text").textContent);
  const $ = (id) => document.getElementById(id);
  let backoff = 1000;
  let lastStatus = null;

  function beep() {
    try {
      const audio = new AudioContext();
      const tone = audio.createOscillator();
      tone.frequency.value = 880;
      tone.connect(audio.destination);
      tone.start();
      tone.stop(audio.currentTime + 0.6);
    } catch (error) { /* no sound available */ }
  }

  function render(view) {
    box.dataset.status = view.status;
    $("status").textContent = text[view.status] || view.status;
    const waiting = view.status === "waiting";
    $("ahead-row").hidden = $("wait-row").hidden = !waiting;
    if (waiting) {
      $("ahead").textContent = view.ahead;
      // The typical wait, then the range that holds 8 waits in 10 (docs/scheduling.md).
      const minutes = (seconds) => Math.max(1, Math.round(seconds / 60));
      const [low, high] = view.estimated_wait_range_s || [0, 0];
      const span = high > 0 ? ` (${Math.round(low / 60)}–${minutes(high)})` : "";
      $("wait").textContent = `~${minutes(view.estimated_wait_s)} ${text.minutes}${span}`;
    }
    $("check-in").hidden = !(waiting && view.away);
    $("counter-row").hidden = !view.counter || !["called", "serving"].includes(view.status);
    $("counter").textContent = view.counter || "";
    $("leave").hidden = !["waiting", "called"].includes(view.status);
    if (view.status === "called" && lastStatus !== "called") {
      if (navigator.vibrate) navigator.vibrate([400, 200, 400, 200, 400]);
      beep();
    }
    lastStatus = view.status;
  }

  function connect() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const socket = new WebSocket(`${scheme}://${location.host}/ws/tickets/${token}`);
    socket.addEventListener("open", () => { $("connection").hidden = true; backoff = 1000; });
    socket.addEventListener("message", (event) => render(JSON.parse(event.data)));
    socket.addEventListener("close", (event) => {
      if (event.code === 1008) return; // unknown ticket: nothing to follow
      $("connection").hidden = false;
      setTimeout(connect, backoff + Math.random() * 500);
      backoff = Math.min(backoff * 2, 30000);
    });
  }

  $("leave").addEventListener("click", async () => {
    if (!confirm(text.confirm)) return;
    const response = await fetch(`/api/v1/tickets/${token}`, { method: "DELETE" });
    if (response.ok) render(await response.json());
  });

  connect();
})();
