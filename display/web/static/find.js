// Find my ticket: asks the server to send the tracker link again. Its answer is the same whether or not
// a ticket matched, so the page says the same too.
"use strict";

(() => {
  const { call, showError } = window.Dor;
  const text = JSON.parse(document.getElementById("find-text").textContent);
  const $ = (id) => document.getElementById(id);

  $("find-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    ["number-error", "phone-error", "form-error"].forEach((id) => showError(id, ""));
    $("done").hidden = true;
    const number = $("number").value.trim(), phone = $("phone").value.trim();
    if (!number) { showError("number-error", text.bad_number); $("number").focus(); return; }
    if (!phone) { showError("phone-error", text.bad_phone); $("phone").focus(); return; }
    $("send").disabled = true;
    try {
      await call("POST", `/api/v1/centres/${encodeURIComponent($("centre").value)}/tickets/find`, { number, phone });
      $("done").hidden = false;
    } catch (error) {
      if (error.field === "number") { showError("number-error", text.bad_number); $("number").focus(); }
      else if (error.field === "phone") { showError("phone-error", text.bad_phone); $("phone").focus(); }
      else showError("form-error", error.status === 429 ? text.too_many_requests
        : error.status === 0 ? text.offline : text.error);
    } finally {
      $("send").disabled = false;
    }
  });
})();
