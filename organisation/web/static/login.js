// The sign-in form: posts to the API, then goes where the person was heading.
"use strict";

(() => {
  const form = document.getElementById("login");
  const error = document.getElementById("login-error");
  if (new URLSearchParams(location.search).get("expired")) {
    error.textContent = Dor.t("expired");
    error.hidden = false;
  }
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.hidden = true;
    const body = { username: form.username.value.trim(), password: form.password.value };
    try {
      await Dor.api("POST", "/api/v1/auth/login", body);
      // The server gave a path of this site (organisation/web/pages.py safe_next); checked again here, so
      // that nothing but a same-origin address is ever followed.
      const next = new URL(form.dataset.next, location.href);
      location.assign(next.origin === location.origin ? next.href : "/counter");
    } catch (failure) {
      const key = failure.code === "too_many_attempts" ? "throttled"
        : failure.code === "offline" ? "offline" : "wrong";
      const wait = (failure.message.match(/\d+/) || [""])[0];
      error.textContent = Dor.t(key).replace("%(s)s", wait);
      error.hidden = false;
      form.password.select();
    }
  });
})();
