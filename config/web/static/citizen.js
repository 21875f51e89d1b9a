// What the citizens' pages (booking, remote ticket, kiosk) share: the page's language, typed digits in
// either script made ASCII, the API's error shape, an error shown next to its field, and the phone's one-time code.
"use strict";

window.Dor = (() => {
  const { lang, local } = window.DorWords;
  const ARABIC = "٠١٢٣٤٥٦٧٨٩", PERSIAN = "۰۱۲۳۴۵۶۷۸۹";
  const ascii = (value) => String(value)
    .replace(/[٠-٩]/g, (d) => String(ARABIC.indexOf(d)))
    .replace(/[۰-۹]/g, (d) => String(PERSIAN.indexOf(d)));

  // The contract's {"error": {"code", "message", "field"}}: the message is in the page's language; `field`
  // names the input an invalid_input is about.
  class Refusal extends Error {
    constructor(status, code, message, field) { super(message); this.status = status; this.code = code; this.field = field; }
  }

  // JSON in and out; what is refused becomes a Refusal.
  async function call(method, url, body, headers = {}) {
    let response;
    try {
      response = await fetch(url, {
        method,
        headers: { "Content-Type": "application/json", "Accept-Language": lang, ...headers },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (error) {
      throw new Refusal(0, "offline", "offline");
    }
    const data = response.status === 204 ? null : await response.json().catch(() => ({}));
    if (!response.ok) {
      const error = data?.error || {};
      throw new Refusal(response.status, error.code || "error", error.message || "", error.field);
    }
    return data;
  }

  // The message in the box `id`; the input it describes is marked invalid while it shows.
  function showError(id, message) {
    const box = document.getElementById(id);
    box.textContent = message;
    box.hidden = !message;
    const input = document.querySelector(`[aria-describedby~="${id}"]`);
    if (input && input.tagName === "INPUT") {
      if (message) input.setAttribute("aria-invalid", "true"); else input.removeAttribute("aria-invalid");
    }
  }

  // A pasted SMS (or a code with spaces) keeps only its digits, Arabic-Indic ones included.
  function keepCodeDigits(input) {
    input.addEventListener("paste", (event) => {
      const digits = (event.clipboardData?.getData("text") || "").match(/[0-9٠-٩۰-۹]/g);
      if (!digits) return;
      event.preventDefault();
      input.value = digits.join("").slice(0, 16);
    });
  }

  // The phone field's button (phone_field.html): a code by SMS for `purpose`, at the centre `centre()`
  // names; what goes wrong shows beside the phone, in the page's `text`.
  function sendsCode({ purpose, centre, text }) {
    const $ = (id) => document.getElementById(id);
    $("send-otp").addEventListener("click", async () => {
      showError("phone-error", "");
      const phone = $("phone").value.trim();
      if (!phone) { showError("phone-error", text.bad_phone); $("phone").focus(); return; }
      $("send-otp").disabled = true;
      try {
        await call("POST", "/api/v1/otp", { phone, purpose, language: lang, centre: centre() });
        $("otp-sent").textContent = text.code_sent;
        $("after-otp").hidden = false;
        $("otp").focus();
      } catch (error) {
        showError("phone-error", error.code === "invalid_input" ? text.bad_phone
          : error.status === 429 ? text.too_many_codes : error.status === 0 ? text.offline : text.error);
        $("phone").focus();
      } finally {
        $("send-otp").disabled = false;
      }
    });
    keepCodeDigits($("otp"));
  }

  return { lang, local, ascii, Refusal, call, showError, keepCodeDigits, sendsCode };
})();
