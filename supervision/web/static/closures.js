// A centre's closures: the closed days ahead, what closing a day would cancel (asked as the day is
// chosen), and closing it with a reason, confirmed before anything is cancelled; reopening a closed
// day with a reason (DELETE …/closures/{day}).
"use strict";

(() => {
  const root = document.getElementById("closures");
  const base = `/api/v1/centres/${root.dataset.centre}/closures`;
  const $ = (id) => document.getElementById(id);
  const { local, count } = DorWords;
  const dayFormat = new Intl.DateTimeFormat(Dor.lang === "ar" ? "ar-SY" : "en-GB", {
    weekday: "long", day: "numeric", month: "long", year: "numeric", timeZone: "UTC",
    numberingSystem: DorWords.arabic ? "arab" : "latn",
  });
  const dayLabel = (iso) => dayFormat.format(new Date(`${iso}T12:00:00Z`));
  let booked = null; // what closing the chosen day would cancel

  function say(id, text) {
    $(id).textContent = text;
    $(id).hidden = !text;
  }

  async function list() {
    const body = $("closed-days");
    try {
      const { closures } = await Dor.api("GET", base, undefined, { background: true });
      body.replaceChildren();
      for (const c of closures) {
        const row = document.createElement("tr");
        row.dataset.day = c.day;
        for (const text of [dayLabel(c.day), c.reason || Dor.t("holiday"), count(Dor.t("booked"), c.booked)]) {
          const cell = document.createElement("td");
          cell.textContent = text;
          row.appendChild(cell);
        }
        const cell = document.createElement("td");
        const reopen = document.createElement("button");
        reopen.type = "button";
        reopen.className = "secondary";
        reopen.textContent = Dor.t("reopen");
        reopen.setAttribute("aria-label", `${Dor.t("reopen")}: ${dayLabel(c.day)}`);
        reopen.addEventListener("click", () => askReopen(c.day));
        cell.appendChild(reopen);
        row.appendChild(cell);
        body.appendChild(row);
      }
      if (!closures.length) {
        const row = document.createElement("tr");
        const cell = document.createElement("td");
        cell.colSpan = 4;
        cell.textContent = Dor.t("none");
        row.appendChild(cell);
        body.appendChild(row);
      }
    } catch (error) {
      if (error.status === 0) Dor.toast(Dor.t("offline"), "error");
    }
  }

  $("day").addEventListener("change", async () => {
    booked = null;
    say("day-error", "");
    $("preview").textContent = "";
    if (!$("day").value) return;
    try {
      const day = await Dor.api("GET", `${base}/${$("day").value}`);
      booked = day.closed ? null : day.booked;
      $("preview").textContent = day.closed ? Dor.t("closed_already") : count(Dor.t("will_cancel"), day.booked);
    } catch (error) {
      say("day-error", local(error.message));
    }
  });

  $("close-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    say("day-error", "");
    say("reason-error", "");
    const body = { day: $("day").value, reason: $("reason").value.trim() };
    if (booked !== null && booked > 0 && !window.confirm(count(Dor.t("will_cancel"), booked))) return;
    $("close-day").disabled = true;
    try {
      const closed = await Dor.api("POST", base, body);
      Dor.toast(count(Dor.t("done"), closed.cancelled));
      $("close-form").reset();
      $("preview").textContent = "";
      booked = null;
      await list();
    } catch (error) {
      if (error.status === 401) return;
      const where = error.field === "reason" ? "reason-error" : "day-error";
      say(where, local(error.message));
      $(error.field === "reason" ? "reason" : "day").focus();
    } finally {
      $("close-day").disabled = false;
    }
  });

  let reopening = null; // the day the dialog asks about
  function askReopen(day) {
    reopening = day;
    $("reopen-form").reset();
    say("reopen-error", "");
    $("reopen-day").textContent = dayLabel(day);
    $("reopen-dialog").showModal();
    $("reopen-reason").focus();
  }

  $("reopen-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    say("reopen-error", "");
    $("reopen-confirm").disabled = true;
    try {
      await Dor.api("DELETE", `${base}/${reopening}`, { reason: $("reopen-reason").value.trim() });
      $("reopen-dialog").close();
      Dor.toast(Dor.t("reopened"));
      await list();
    } catch (error) {
      if (error.status !== 401) say("reopen-error", local(error.message));
    } finally {
      $("reopen-confirm").disabled = false;
    }
  });
  document.querySelectorAll("[data-close]").forEach((b) => b.addEventListener("click", () => b.closest("dialog").close()));

  Dor.me().then(() => { Dor.watchSession(); list(); });
})();
