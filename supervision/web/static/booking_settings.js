// A centre's booking capacity settings: each field empty follows the national setting shown beside it;
// saved with a reason (PUT .../booking-settings), what the server refuses shown beside its field. As the
// values are typed, a coming day's places per service are shown now and with them (.../preview).
"use strict";

(() => {
  const root = document.getElementById("booking-settings");
  const base = `/api/v1/centres/${root.dataset.centre}/booking-settings`;
  const $ = (id) => document.getElementById(id);
  const { local, count, arabic } = DorWords;
  const FIELDS = { walk_in_share: "walk-in-share", horizon_days: "horizon-days", target_load: "target-load" };
  // The errors a preview answers for: the settings' and the day's (not the reason's, which only saving reads).
  const PREVIEWED = "#booking-settings .error[data-field]:not([data-field=reason])";
  const ARABIC = "٠١٢٣٤٥٦٧٨٩", PERSIAN = "۰۱۲۳۴۵۶۷۸۹";
  let previewing = null; // the timer of the next preview
  let current = null; // the settings as the server last gave them
  let previews = 0; // previews asked: an answer to any but the last is stale

  // A number in the page's digits, with the Arabic decimal separator where digits are Arabic-Indic.
  const number = (value) => local(String(value)).replace(".", arabic ? "٫" : ".");
  const shown = (name, value) => (name === "horizon_days" ? count(Dor.t("days"), value) : number(value));

  // What was typed, as the API takes it: null when empty (the national setting), a number when it reads
  // as one (any digits, either decimal separator), else the text itself for the server to refuse.
  function typed(name) {
    const text = $(FIELDS[name]).value.trim()
      .replace(/[٠-٩]/g, (d) => String(ARABIC.indexOf(d)))
      .replace(/[۰-۹]/g, (d) => String(PERSIAN.indexOf(d)))
      .replace(/[٫,،]/g, ".");
    if (!text) return null;
    return /^[0-9]+(\.[0-9]+)?$/.test(text) ? Number(text) : text;
  }

  function say(box, text) {
    box.textContent = text;
    box.hidden = !text;
  }

  function clearErrors(selector) {
    document.querySelectorAll(selector).forEach((p) => say(p, ""));
  }

  function fill(settings) {
    current = settings;
    for (const [name, id] of Object.entries(FIELDS)) {
      const setting = settings[name];
      $(id).value = setting.own === null ? "" : number(setting.own);
      const bounds = Dor.t("range").replace("%(least)s", number(Number($(id).dataset.least)))
        .replace("%(most)s", number(Number($(id).dataset.most)));
      const lines = [bounds, Dor.t("national").replace("%(value)s", shown(name, setting.national)),
        Dor.t("in_effect").replace("%(value)s", shown(name, setting.effective))];
      if (name === "target_load" && settings.places === "flat") lines.push(Dor.t("flat"));
      $(`${id}-hint`).textContent = lines.join(" ");
    }
  }

  function cell(text) {
    const td = document.createElement("td");
    td.textContent = text;
    return td;
  }

  async function preview() {
    const params = new URLSearchParams();
    for (const name of Object.keys(FIELDS)) {
      const value = typed(name);
      if (value !== null) params.set(name, value);
    }
    if ($("preview-day").value) params.set("day", $("preview-day").value);
    const mine = ++previews;
    try {
      const day = await Dor.api("GET", `${base}/preview?${params}`, undefined, { background: true });
      if (mine !== previews) return;
      clearErrors(PREVIEWED);
      $("preview-day").value = day.day;
      $("preview-places").replaceChildren(...day.services.map((s) => {
        const tr = document.createElement("tr");
        tr.dataset.service = s.code;
        const name = document.createElement("th");
        name.scope = "row";
        name.textContent = s.name[Dor.lang] || s.name.ar;
        tr.append(name, cell(local(s.current)), cell(local(s.proposed)));
        return tr;
      }));
      const notes = [];
      if (!day.services.length) notes.push(Dor.t("no_services"));
      if (!day.open) notes.push(Dor.t("closed_day"));
      if (day.open && !day.bookable_now) notes.push(Dor.t("beyond_now"));
      if (day.open && !day.bookable_proposed) notes.push(Dor.t("beyond_proposed"));
      $("preview-notes").replaceChildren(...notes.map((text) => {
        const li = document.createElement("li");
        li.textContent = text;
        return li;
      }));
    } catch (error) {
      if (error.status === 401 || mine !== previews) return;
      if (error.status === 0) { Dor.toast(Dor.t("offline"), "error"); return; }
      clearErrors(PREVIEWED);
      const box = document.querySelector(`#booking-settings .error[data-field="${error.field}"]`) || $("form-error");
      say(box, local(error.message));
      // No places for values the server refuses: the last ones shown were for other values.
      document.querySelectorAll("#preview-places td:nth-child(3)").forEach((td) => { td.textContent = "–"; });
    }
  }

  function previewSoon() {
    clearTimeout(previewing);
    previewing = setTimeout(preview, 300);
  }

  for (const id of [...Object.values(FIELDS), "preview-day"]) $(id).addEventListener("input", previewSoon);

  $("settings-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors("#settings-form .error");
    $("answer").textContent = "";
    const body = { reason: $("reason").value.trim() };
    for (const name of Object.keys(FIELDS)) body[name] = typed(name);
    $("save").disabled = true;
    try {
      const before = JSON.stringify(current);
      const saved = await Dor.api("PUT", base, body);
      fill(saved);
      $("reason").value = "";
      $("answer").textContent = JSON.stringify(saved) === before ? Dor.t("unchanged") : Dor.t("saved");
      await preview();
    } catch (error) {
      if (error.status === 401) return;
      const box = document.querySelector(`#settings-form .error[data-field="${error.field}"]`) || $("form-error");
      say(box, local(error.message));
      (FIELDS[error.field] ? $(FIELDS[error.field]) : $("reason")).focus();
    } finally {
      $("save").disabled = false;
    }
  });

  Dor.me().then(async () => {
    Dor.watchSession();
    fill(await Dor.api("GET", base));
    await preview();
  });
})();
