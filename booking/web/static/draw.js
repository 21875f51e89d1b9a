// The draws' citizen pages. /draws/{code} while open: the application form: the national ID, the phone
// verified by an SMS code, up to three preferences in order (a centre, and one of its days with places
// or any day); the application carries an Idempotency-Key, so a double click applies once. What the
// server refuses is shown beside the field it names. /draws/applications/{token} when a freed place is
// offered: accept or decline it.
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);
  const { lang, local, ascii, call, showError } = window.Dor;

  // ============================== /draws/{code}: apply ==============================
  function applyForm(form) {
    const code = form.dataset.draw;
    // The phone's and the code's words are the booking page's (booking_text.html); the draw's own beside them.
    const text = { ...JSON.parse($("booking-text").textContent), ...JSON.parse($("draw-text").textContent) };
    const data = JSON.parse($("draw-data").textContent);
    const preferences = [0, 1, 2];
    let intent = null;

    // A preference's days: any day at its centre, then each day with places there.
    function fillDays(i) {
      const centre = $(`centre-${i}`).value, days = $(`day-${i}`);
      const kept = days.value;
      days.replaceChildren();
      days.disabled = !centre;
      if (!centre) return;
      days.appendChild(new Option(text.any_day, "*"));
      for (const day of data.offered[centre] || []) days.appendChild(new Option(local(data.day_labels[day]), day));
      if ([...days.options].some((o) => o.value === kept)) days.value = kept;
    }
    preferences.forEach((i) => {
      $(`centre-${i}`).addEventListener("change", () => fillDays(i));
      fillDays(i);
    });

    Dor.sendsCode({ purpose: "draw", centre: () => $("centre-0").value || null, text });

    const errorBoxes = ["national-id-error", "phone-error", "otp-error", "form-error", ...preferences.map((i) => `choice-${i}-error`)];

    function choices() {
      return preferences.map((i) => $(`centre-${i}`).value && `${$(`centre-${i}`).value}@${$(`day-${i}`).value}`).filter(Boolean);
    }

    // Where a refusal is shown: beside the field it names, else above the button.
    function place(error) {
      if (error.code === "otp_invalid") return "otp-error";
      const field = error.field || "";
      if (field === "national_id") return "national-id-error";
      if (field === "phone") return "phone-error";
      if (field === "otp") return "otp-error";
      const choice = /^choices\.(\d)/.exec(field);
      // The server numbers the preferences it was sent; the form sends the chosen ones in order.
      if (choice) return `choice-${chosenIndex(Number(choice[1]))}-error`;
      return "form-error";
    }
    // What went wrong in the page's words where the page knows them (the server's otherwise): what a
    // field's refusal says depends only on the field.
    function explain(error) {
      if (error.status === 0) return text.offline;
      if (error.code === "otp_invalid") return text.otp_invalid;
      if (error.code === "invalid_input") {
        const field = (error.field || "").split(".")[0];
        const known = { national_id: text.national_id_fake, phone: text.bad_phone, otp: text.otp_invalid, choices: text.not_a_choice };
        if (known[field]) return known[field];
      }
      return error.message || text.error;
    }
    function chosenIndex(n) {
      return preferences.filter((i) => $(`centre-${i}`).value)[n] ?? 0;
    }

    function show(where, message) {
      if (where === "form-error") {
        $("form-error").textContent = message;
        $("form-error").hidden = false;
        $("form-error").scrollIntoView({ block: "nearest" });
      } else {
        showError(where, message);
        document.querySelector(`[aria-describedby~="${where}"]`)?.focus();
      }
    }

    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      errorBoxes.forEach((id) => showError(id, ""));
      const body = {
        phone: $("phone").value.trim(),
        // The API compares the code as typed, so Arabic-Indic digits are made ASCII here.
        otp: ascii($("otp").value).replace(/\s/g, ""),
        national_id: ascii($("national-id").value).replace(/[\s-]/g, ""),
        choices: choices(),
        language: $("language").value,
      };
      if (!/^[0-9]{11}$/.test(body.national_id)) { show("national-id-error", text.national_id); return; }
      if (!body.otp) { show("otp-error", text.otp_missing); return; }
      if (!$("centre-0").value) { show("choice-0-error", text.choose_centre); return; }
      const twice = body.choices.findIndex((c, n) => body.choices.indexOf(c) !== n);
      if (twice >= 0) { show(`choice-${chosenIndex(twice)}-error`, text.twice); return; }
      // One key per attempt: a double click, or sending the same answers again, applies once.
      const fingerprint = JSON.stringify(body);
      if (!intent || intent.fingerprint !== fingerprint) intent = { key: crypto.randomUUID(), fingerprint };
      $("submit-application").disabled = true;
      try {
        const application = await call("POST", `/api/v1/draws/${code}/applications`, body, { "Idempotency-Key": intent.key });
        applied(application);
      } catch (error) {
        show(place(error), explain(error));
      } finally {
        $("submit-application").disabled = false;
      }
    });

    function applied(application) {
      $("pseudonym").textContent = application.pseudonym;
      $("status-link").href = `${new URL(application.status_url, location.href).pathname}?lang=${lang}`;
      $("apply-section").hidden = true;
      $("applied").hidden = false;
      const heading = $("applied-title");
      heading.tabIndex = -1;
      heading.focus();
    }
  }

  // ================= /draws/applications/{token}: a place offered =================
  function offerActions(root) {
    const text = JSON.parse($("draw-text").textContent);
    const answer = async (action) => {
      $("accept").disabled = $("decline").disabled = true;
      try {
        await call("POST", `/api/v1/draw-applications/${root.dataset.token}/${action}`);
        location.reload();  // the page says what the answer changed: an appointment, or off the list
      } catch (error) {
        $("offer-message").textContent = error.status === 0 ? text.offline : error.message || text.error;
        $("offer-message").hidden = false;
        $("accept").disabled = $("decline").disabled = false;
      }
    };
    $("accept").addEventListener("click", () => answer("accept"));
    $("decline").addEventListener("click", () => { if (window.confirm(text.confirm_decline)) answer("decline"); });
  }

  if ($("apply")) applyForm($("apply"));
  if ($("offer")) offerActions($("application"));
})();
