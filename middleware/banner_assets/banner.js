/*
 * mitmwatch interception warning: wires the close button. Served by the
 * middleware from its own path so that a strict Content-Security-Policy
 * (default-src 'self') allows it; it neither evaluates strings nor
 * parses markup, so Trusted Types policies do not block it either. Dismissal lasts for the
 * browser tab (sessionStorage): the warning comes back in a new tab.
 */
(function () {
  "use strict";
  var KEY = "mitmwatch-banner-dismissed";

  function dismissed() {
    try {
      return window.sessionStorage.getItem(KEY) === "1";
    } catch (e) {
      return false; // storage disabled: show the warning
    }
  }

  function remember() {
    try {
      window.sessionStorage.setItem(KEY, "1");
    } catch (e) {
      // storage disabled: the warning comes back on the next page
    }
  }

  function wire(root) {
    if (root.hasAttribute("data-mitmwatch-ready")) {
      return;
    }
    root.setAttribute("data-mitmwatch-ready", "");
    if (dismissed()) {
      root.hidden = true;
      return;
    }
    var button = root.querySelector("[data-mitmwatch-dismiss]");
    if (!button) {
      return;
    }
    button.hidden = false;
    button.addEventListener("click", function () {
      root.hidden = true;
      remember();
    });
  }

  function init() {
    var roots = document.querySelectorAll("[data-mitmwatch-banner]");
    for (var i = 0; i < roots.length; i++) {
      wire(roots[i]);
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
