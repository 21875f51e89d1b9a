// The ticket tracker: live over a websocket; vibrates and chimes when the ticket is called; once served,
// asks how it went (one answer). Every number in the page's digits, counts in their plural forms
// (words.js).
"use strict";

(() => {
  const { local, count } = window.DorWords;
  const box = document.getElementById("tracker");
  const token = box.dataset.token;
  const latePlaces = Number(box.dataset.latePlaces);
  const commentMax = Number(box.dataset.commentMax);
  const text = JSON.parse(document.getElementById("tracker-text").textContent);
  const $ = (id) => document.getElementById(id);
  let lastStatus = null;
  const clock = new Intl.DateTimeFormat(window.DorWords.lang === "ar" ? "ar-SY" : "en-GB", {
    timeZone: box.dataset.timezone, hour: "2-digit", minute: "2-digit",
    numberingSystem: window.DorWords.arabic ? "arab" : "latn",
  });

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
      $("ahead").textContent = count(text.ahead, view.ahead);
      // The typical wait, then the range that holds 8 waits in 10 (docs/scheduling.md).
      const minutes = (seconds) => Math.max(1, Math.round(seconds / 60));
      $("wait").textContent = count(text.minutes, minutes(view.estimated_wait_s));
      const [low, high] = view.estimated_wait_range_s || [0, 0];
      $("range").textContent = high > 0
        ? text.range.replace("%(low)s", local(Math.round(low / 60))).replace("%(high)s", local(minutes(high)))
        : "";
    }
    $("check-in").hidden = !(waiting && view.away);
    $("counter-row").hidden = !view.counter || !["called", "serving"].includes(view.status);
    $("counter").textContent = view.counter ? local(view.counter) : "";
    // A centre on its own server, which the central has not heard from lately (docs/centre-node.md).
    $("offline").hidden = !view.centre_offline_since;
    $("offline").textContent = view.centre_offline_since
      ? text.offline.replace("%(time)s", clock.format(new Date(view.centre_offline_since))) : "";
    $("moved").hidden = !(waiting && view.moved_back > 0);
    $("moved").textContent = view.moved_back > 0 ? count(text.moved, view.moved_back) : "";
    $("late-box").hidden = !view.can_move_back;
    $("leave").hidden = !["waiting", "called"].includes(view.status);
    $("feedback").hidden = !(view.status === "done" && !view.feedback_given);
    $("thanks").hidden = !(view.status === "done" && view.feedback_given);
    if (view.status === "called" && lastStatus !== "called") {
      if (navigator.vibrate) navigator.vibrate([400, 200, 400, 200, 400]);
      beep();
    }
    lastStatus = view.status;
  }

  // Live updates; reconnect.js says when to try again.
  const link = DorReconnect.follow(`/ws/tickets/${token}`, {
    open: () => { $("connection").hidden = true; },
    message: (event) => render(JSON.parse(event.data)),
    close: (event) => {
      if (event.code === 1008) { link.stop(); return; } // unknown ticket: nothing to follow
      $("connection").hidden = false;
    },
  });

  // A change asked of the server: its answer is the ticket as it now stands; a refusal says why, in
  // the page's language.
  async function change(method, path, payload) {
    $("error").hidden = true;
    try {
      const headers = { "Accept-Language": window.DorWords.lang };
      if (payload) headers["Content-Type"] = "application/json";
      const response = await fetch(`/api/v1/tickets/${token}${path}`, {
        method, headers, body: payload && JSON.stringify(payload),
      });
      const body = await response.json();
      if (response.ok) { render(body); return; }
      // Answered already (another tab, a second tap): say thanks, as the answer that counts was taken.
      if (body.error?.code === "feedback_given") { $("feedback").hidden = true; $("thanks").hidden = false; return; }
      $("error").textContent = body.error?.message || text.error;
    } catch (error) {
      $("error").textContent = text.error;
    }
    $("error").hidden = false;
  }

  $("late-hint").textContent = count(text.late_hint, latePlaces);
  $("late").addEventListener("click", async () => {
    if (!confirm(text.late_confirm)) return;
    $("late").disabled = true;
    await change("POST", "/late");
    $("late").disabled = false;
  });
  $("leave").addEventListener("click", async () => {
    if (confirm(text.confirm)) await change("DELETE", "");
  });

  function commentHint() {
    const left = commentMax - $("comment").value.length;
    $("comment-hint").textContent = text.comment_hint
      .replace("%(num)s", local(commentMax)).replace("%(left)s", local(left));
  }
  commentHint();
  $("comment").addEventListener("input", commentHint);
  // Each choice is a submit button: one tap sends the rating, with the comment if one was written.
  $("feedback").addEventListener("submit", async (event) => {
    event.preventDefault();
    const buttons = $("feedback").querySelectorAll("button");
    buttons.forEach((b) => { b.disabled = true; });
    const comment = $("comment").value.trim();
    await change("POST", "/feedback", { rating: Number(event.submitter.value), ...(comment && { comment }) });
    buttons.forEach((b) => { b.disabled = false; });
  });
})();
