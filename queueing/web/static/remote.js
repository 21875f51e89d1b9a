// A remote ticket from a phone: a walk-in service (its wait now shown), the phone verified by an SMS
// code, then the ticket's live tracker. The ticket request carries an Idempotency-Key, so a double
// tap or a retry takes one ticket.
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);
  const root = $("remote");
  const centre = root.dataset.centre;
  const text = JSON.parse($("remote-text").textContent);
  const { lang, local, ascii, call, showError } = window.Dor;
  const minutes = (seconds) => `${local(Math.max(1, Math.round(seconds / 60)))} ${text.minutes}`;
  let intent = null;

  // The wait now for each service; a service that takes no more tickets today cannot be chosen.
  async function showWaits() {
    let status;
    try { status = await call("GET", `/api/v1/centres/${centre}/status`); } catch (error) { return; }
    $("closed").hidden = status.open !== false;
    for (const row of status.services) {
      const wait = root.querySelector(`[data-wait="${row.code}"]`);
      if (!wait) continue;
      const radio = $(`service-${row.code}`);
      radio.disabled = row.intake_open === false;
      wait.textContent = row.intake_open === false ? text.intake_stopped
        : `${text.wait_now}: ${row.waiting === 0 ? text.no_wait : `≈ ${minutes(row.estimated_wait_s)}`}`;
    }
  }

  const chosenService = () => root.querySelector("input[name=service]:checked")?.value || "";

  root.querySelectorAll("input[name=service]").forEach((radio) => radio.addEventListener("change", () => showError("service-error", "")));

  Dor.sendsCode({ purpose: "remote_ticket", centre: () => centre, text });

  // Where each refusal is shown: next to the field it is about, else above the button.
  function explain(error) {
    const field = error.field;
    if (error.code === "otp_invalid") return ["otp-error", text.otp_invalid];
    if (error.code === "already_queued") return ["phone-error", text.already_queued];
    if (error.code === "intake_stopped") return ["service-error", text.intake_stopped];
    if (error.code === "centre_closed") return ["form-error", text.closed];
    if (error.code === "too_many_requests") return ["form-error", text.too_many_requests];
    if (error.code === "invalid_input" && field === "phone") return ["phone-error", text.bad_phone];
    if (error.code === "invalid_input" && field === "otp") return ["otp-error", text.otp_invalid];
    if (error.code === "invalid_input" && field === "service") return ["service-error", text.choose_service];
    return ["form-error", error.status === 0 ? text.offline : text.error];
  }

  $("remote-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    ["service-error", "phone-error", "otp-error", "form-error"].forEach((id) => showError(id, ""));
    const body = {
      service: chosenService(),
      channel: "remote",
      phone: $("phone").value.trim(),
      otp: ascii($("otp").value).replace(/\s/g, ""),
      language: lang,
    };
    if (!body.service) {
      showError("service-error", text.choose_service);
      (root.querySelector("input[name=service]:not(:disabled)") || $("phone")).focus();
      return;
    }
    if (!body.otp) { showError("otp-error", text.otp_missing); $("otp").focus(); return; }
    // One key per set of answers: a double tap or a retry of the same answers sends the same key.
    const fingerprint = JSON.stringify(body);
    if (!intent || intent.fingerprint !== fingerprint) intent = { key: crypto.randomUUID(), fingerprint };
    $("take").disabled = true;
    try {
      const ticket = await call("POST", `/api/v1/centres/${centre}/tickets`, body, { "Idempotency-Key": intent.key });
      // The tracker on this page's own address: the same page as tracking_url, and the language
      // chosen here (kept in a cookie) stays.
      location.assign(new URL(ticket.tracking_url, location.href).pathname);
    } catch (error) {
      const [where, message] = explain(error);
      showError(where, message);
      const input = where === "service-error" ? root.querySelector("input[name=service]:checked")
        : document.querySelector(`input[aria-describedby~="${where}"]`);
      if (input) input.focus(); else $(where).scrollIntoView({ block: "center" });
      $("take").disabled = false;
    }
  });

  showWaits();
})();
