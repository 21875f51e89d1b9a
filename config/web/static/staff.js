// Shared by the staff pages: calling the API with the session's CSRF token, messages, the
// session-expiry warning, sign-out.
"use strict";

const Dor = (() => {
  const messages = JSON.parse(document.getElementById("messages").textContent);
  const lang = document.documentElement.lang;
  let csrf = null;
  let expiresAt = null;
  let idleMs = null;
  let absoluteEnd = null;

  // The contract's {"error": {"code", "message", "field"}}: the message in the page's language, `field`
  // the input an invalid_input is about.
  class ApiError extends Error {
    constructor(status, code, message, field) {
      super(message);
      this.status = status;
      this.code = code;
      this.field = field;
    }
  }

  function toLogin(expired) {
    const next = encodeURIComponent(location.pathname);
    location.assign(`/login?next=${next}${expired ? "&expired=1" : ""}`);
  }

  // `background` marks automatic refreshes: they do not keep an idle session alive.
  async function api(method, url, body, { background = false } = {}) {
    const headers = { "Accept-Language": lang };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (csrf && method !== "GET") headers["X-CSRF-Token"] = csrf;
    if (background) headers["X-Dor-Background"] = "1";
    let response;
    try {
      response = await fetch(url, {
        method, headers, credentials: "same-origin",
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (error) {
      throw new ApiError(0, "offline", messages.offline || "offline");
    }
    if (response.status === 401 && !url.endsWith("/auth/login")) {
      toLogin(true);
      throw new ApiError(401, "unauthorized", "");
    }
    if (response.status === 204) return null;
    const data = await response.json().catch(() => ({}));
    if (!response.ok) {
      const error = data.error || {};
      throw new ApiError(response.status, error.code || "error", error.message || response.statusText, error.field);
    }
    if (!background && idleMs) expiresAt = Math.min(Date.now() + idleMs, absoluteEnd);
    return data;
  }

  function toast(text, kind = "info") {
    const box = document.getElementById("toast");
    box.textContent = text;
    box.dataset.kind = kind;
    box.hidden = false;
    clearTimeout(toast.timer);
    toast.timer = setTimeout(() => { box.hidden = true; }, 4000);
  }

  async function me() {
    const who = await api("GET", "/api/v1/auth/me", undefined, { background: true });
    csrf = who.csrf_token;
    expiresAt = Date.parse(who.expires_at);
    idleMs = who.idle_timeout_s * 1000;
    absoluteEnd = Date.parse(who.session_ends_at);
    return who;
  }

  async function refreshExpiry() {
    try { await me(); } catch (error) { /* the next call will tell */ }
  }

  // Warn two minutes before the session ends; "stay signed in" counts as activity.
  function watchSession() {
    const banner = document.getElementById("session-warning");
    setInterval(() => {
      if (!expiresAt) return;
      const left = expiresAt - Date.now();
      if (left <= 0) toLogin(true);
      banner.hidden = left > 120000;
    }, 1000);
    setInterval(refreshExpiry, 30000);
    document.getElementById("stay-signed-in").addEventListener("click", async () => {
      await api("GET", "/api/v1/auth/me");
      banner.hidden = true;
    });
    const signOut = document.getElementById("sign-out");
    if (signOut) {
      signOut.addEventListener("click", async () => {
        await api("POST", "/api/v1/auth/logout").catch(() => null);
        location.assign("/login");
      });
    }
  }

  function t(key) { return messages[key] || key; }

  function seconds(total) {
    const m = Math.floor(total / 60), s = Math.floor(total % 60);
    return `${m}:${String(s).padStart(2, "0")}`;
  }

  return { api, toast, me, watchSession, t, seconds, lang, ApiError };
})();
