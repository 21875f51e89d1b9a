// A centre's week of opening hours: filled from GET …/hours, each change previewed (how many booked
// appointments the week leaves outside its hours, by day: POST …/hours/preview), saved with a reason
// (PUT …/hours). What the server refuses is shown beside its day, in the page's language.
"use strict";

(() => {
  const root = document.getElementById("hours-screen");
  const base = `/api/v1/centres/${root.dataset.centre}/hours`;
  const $ = (id) => document.getElementById(id);
  const { local, count } = DorWords;
  const DAYS = [...document.querySelectorAll("tr[data-day]")].map((row) => row.dataset.day);
  const ASCII = (text) => text.replace(/[٠-٩]/g, (d) => String(d.charCodeAt(0) - 0x660)).replace(/[۰-۹]/g, (d) => String(d.charCodeAt(0) - 0x6f0));
  const dayFormat = new Intl.DateTimeFormat(Dor.lang === "ar" ? "ar-SY" : "en-GB", {
    weekday: "long", day: "numeric", month: "long", timeZone: "UTC", numberingSystem: DorWords.arabic ? "arab" : "latn",
  });
  const dayLabel = (iso) => dayFormat.format(new Date(`${iso}T12:00:00Z`));
  const time = (day, span, end) => $(`${day}-${span}-${end}`);

  function setOpen(day, open) {
    for (const span of [0, 1]) for (const end of [0, 1]) time(day, span, end).disabled = !open;
  }

  function fill(week) {
    for (const day of DAYS) {
      const spans = week[day] || [];
      $(`${day}-open`).checked = spans.length > 0;
      for (const span of [0, 1]) {
        for (const end of [0, 1]) {
          time(day, span, end).value = spans[span] ? local(spans[span][end]) : "";
          time(day, span, end).placeholder = local(span === 0 ? ["08:00", "14:00"][end] : "");
        }
      }
      setOpen(day, spans.length > 0);
    }
  }

  // The week as typed: a closed day has no spans; a second span left empty is none.
  function week() {
    const out = {};
    for (const day of DAYS) {
      out[day] = [];
      if (!$(`${day}-open`).checked) continue;
      for (const span of [0, 1]) {
        const pair = [0, 1].map((end) => ASCII(time(day, span, end).value.trim()));
        if (span === 0 || pair[0] || pair[1]) out[day].push(pair);
      }
    }
    return out;
  }

  function clearErrors() {
    for (const row of document.querySelectorAll("tr.day-error")) row.hidden = true;
    for (const input of document.querySelectorAll("#hours-form input")) input.removeAttribute("aria-invalid");
    for (const id of ["reason-error", "form-error"]) { $(id).hidden = true; $(id).textContent = ""; }
  }

  // "week.sun.1.0": Sunday's second span, its opening time; "week.sun": the whole day.
  function showError(error, { focus = true } = {}) {
    const [head, day, span, end] = (error.field || "").split(".");
    if (head === "week" && DAYS.includes(day)) {
      // Shown under the day's row, the input marked: the field's technical name would only get in the way.
      $(`${day}-error`).textContent = local(error.message.replace(/^[^']*'[^']*':\s*/, ""));
      document.querySelector(`tr[data-error-for="${day}"]`).hidden = false;
      const input = span !== undefined ? time(day, Number(span), Number(end || 0)) : $(`${day}-open`);
      if (input) { input.setAttribute("aria-invalid", "true"); if (focus) input.focus(); }
    } else {
      const box = error.field === "reason" ? $("reason-error") : $("form-error");
      box.textContent = local(error.message);
      box.hidden = false;
      if (focus && error.field === "reason") $("reason").focus();
    }
  }

  function showOutside(outside) {
    $("preview").textContent = outside.total ? count(Dor.t("outside"), outside.total) : Dor.t("none_outside");
    $("outside-days").replaceChildren(...outside.days.map((d) => {
      const item = document.createElement("li");
      item.textContent = `${dayLabel(d.day)}: ${count(Dor.t("on_day"), d.appointments)}`;
      return item;
    }));
  }

  let pending = null;
  async function preview() {
    clearErrors();
    try {
      showOutside(await Dor.api("POST", `${base}/preview`, { week: week() }));
    } catch (error) {
      if (error.status === 422) showError(error, { focus: false }); // typing: the error shows, focus stays
      else if (error.status === 0) Dor.toast(Dor.t("offline"), "error");
    }
  }
  const later = () => { clearTimeout(pending); pending = setTimeout(preview, 400); };

  for (const day of DAYS) {
    $(`${day}-open`).addEventListener("change", () => {
      const open = $(`${day}-open`).checked;
      setOpen(day, open);
      if (open && !time(day, 0, 0).value) { time(day, 0, 0).value = local("08:00"); time(day, 0, 1).value = local("14:00"); }
      later();
    });
    for (const span of [0, 1]) for (const end of [0, 1]) time(day, span, end).addEventListener("input", later);
  }

  $("hours-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    clearTimeout(pending);
    clearErrors();
    $("answer").textContent = "";
    $("save").disabled = true;
    try {
      const saved = await Dor.api("PUT", base, { week: week(), reason: $("reason").value.trim() });
      fill(saved.week);
      showOutside(saved.outside);
      $("answer").textContent = Dor.t(saved.changed ? "saved" : "unchanged");
      Dor.toast(Dor.t(saved.changed ? "saved" : "unchanged"));
      if (saved.changed) $("reason").value = "";
    } catch (error) {
      if (error.status !== 401) showError(error);
    } finally {
      $("save").disabled = false;
    }
  });

  Dor.me().then(async () => {
    Dor.watchSession();
    const now = await Dor.api("GET", base);
    fill(now.week);
    showOutside(now.outside);
  });
})();
