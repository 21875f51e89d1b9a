// A websocket that reconnects by itself, for the pages that follow the server live (the hall display,
// a ticket's tracker, the supervisor's wallboard). When a server process restarts, all its clients
// (tens of thousands at a national peak) lose their socket at the same instant: the policy spreads
// their returns so they do not all come back, and fail, and come back again, together.
"use strict";

window.DorReconnect = (() => {
  const BASE = 1000, CAP = 30000, SPREAD = 5000; // milliseconds

  // The waits between attempts ("full jitter": each one anywhere from nothing to its ceiling). Apart
  // from the sockets so a test can drive it with a seeded `random`.
  function policy(random = Math.random) {
    let failed = 0; // attempts in a row whose socket closed before saying anything
    return {
      // The wait once a socket has closed. `heard`: it delivered a message, so it worked and the count
      // starts again, its first retry anywhere in 0..SPREAD. A socket refused after opening (1008, an
      // unknown centre; 1013, too many from one address) says nothing, so its retries back off to the
      // cap. `asked`: the page closed it itself, for a fresh snapshot, and only a short wait is due.
      lost(heard, asked = false) {
        failed = heard ? 0 : failed + 1;
        const ceiling = asked ? BASE : heard ? SPREAD : Math.min(CAP, BASE * 2 ** failed);
        return random() * ceiling;
      },
      // The wait when there is reason to try now (the network is back, the page is shown again).
      soon() { return random() * BASE; },
    };
  }

  // Follows `path` for as long as the page lives. `on.open()`, `on.message(event)` and `on.close(event)`
  // are the page's. The answer's `reopen()` closes the socket for a fresh one (the page saw a gap);
  // `stop()` ends the following (from `on.close`: there is nothing left to follow).
  function follow(path, on) {
    const waits = policy();
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    let socket = null, timer = null, asked = false, stopped = false;

    function open() {
      timer = null;
      const current = socket = new WebSocket(`${scheme}://${location.host}${path}`);
      let heard = false;
      current.addEventListener("open", () => on.open?.());
      current.addEventListener("message", (event) => { heard = true; on.message(event); });
      current.addEventListener("close", (event) => {
        on.close?.(event);
        if (stopped) return;
        timer = setTimeout(open, waits.lost(heard, asked));
        asked = false;
      });
    }

    // Back online, or shown again: no need to sit out a long wait (still jittered: a centre's screens
    // come back online together).
    function hurry() {
      if (timer === null || document.hidden) return;
      clearTimeout(timer);
      timer = setTimeout(open, waits.soon());
    }
    window.addEventListener("online", hurry);
    document.addEventListener("visibilitychange", hurry);

    open();
    return {
      reopen() { asked = true; socket.close(4000, "resync"); },
      stop() { stopped = true; clearTimeout(timer); },
    };
  }

  return { policy, follow };
})();
