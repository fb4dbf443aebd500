/* caremap safety: quick exit and a short browser history.
 *
 * Quick exit: the "Quick exit" link (#quick-exit, first in <body>) or the Esc key (pressed
 * twice on signed-in editors' pages) hides the page at once and replaces it with a neutral
 * site (the link's href, QUICK_EXIT_URL in the app config) through location.replace(), so the
 * page being left is not kept in the history.
 * Without JavaScript the link still works, as an ordinary link.
 *
 * Short history: every same-origin navigation (link clicks, Leaflet popup links included, and
 * GET form submissions) replaces the current history entry instead of adding one, so the whole
 * visit to the directory occupies a single entry, which the quick exit then replaces.
 * The trade-off, intended: the browser's Back button leaves the directory (to the page before
 * it) instead of returning to the previous directory page; pages must offer their own links
 * back (to the map, to search results). Left alone, as the browser would handle them: links
 * opening another window (target), downloads, tel:/mailto:/other-site links, clicks with a
 * modifier key or another mouse button, and anything another script already handled
 * (preventDefault). A link or form with data-history="push" opts out: links from search
 * results to a service's page, so that a phone's Back returns to the results.
 *
 * After a quick exit, a directory page reached again in this tab through Back or Forward (an
 * entry such a link added) leaves at once the same way, hidden before it is shown; opening
 * the directory afresh (a link, a typed address) ends that.
 * Not covered: navigation started by scripts (form.submit(), location.assign), and the
 * browser's own history list of visited pages, which only the user can clear.
 *
 * Loaded in <head>, not deferred, so the listeners are in place before the page is usable.
 * No inline handlers, no external resources.
 */
(function () {
  "use strict";

  var FALLBACK_URL = "https://www.theweathernetwork.com/ca";

  function neutralUrl() {
    var link = document.getElementById("quick-exit");
    return (link && link.getAttribute("href")) || exitedTo() || FALLBACK_URL;
  }

  function quickExit(event) {
    if (event) {
      event.preventDefault();
      event.stopPropagation();
    }
    // Clear the screen first: nothing stays visible while the neutral site loads.
    try {
      document.title = "";
      document.documentElement.style.background = "#fff";
      if (document.body) {
        document.body.style.display = "none";
      } else {
        document.documentElement.style.display = "none";
      }
    } catch (ignored) {
      /* leaving matters more than hiding */
    }
    var neutral = neutralUrl();
    remember(neutral);
    window.location.replace(neutral);
  }

  // sessionStorage: the neutral site this tab left for through the quick exit (a page's
  // head, where it leaves again, has no quick-exit link yet to read it from).
  var EXITED = "caremap-exited-to";

  function remember(neutral) {
    try {
      if (neutral) sessionStorage.setItem(EXITED, neutral);
      else sessionStorage.removeItem(EXITED);
    } catch (unavailable) {
      /* without storage, Back after a quick exit is left to the browser */
    }
  }

  function exitedTo() {
    try {
      return sessionStorage.getItem(EXITED);
    } catch (unavailable) {
      return null;
    }
  }

  function openedThroughHistory() {
    var entries = window.performance && performance.getEntriesByType
      ? performance.getEntriesByType("navigation") : [];
    return entries.length > 0 && entries[0].type === "back_forward";
  }

  if (exitedTo()) {
    if (openedThroughHistory()) quickExit();
    else remember(null);
  }
  // A page the browser kept whole (back/forward cache) runs no script again: only pageshow.
  window.addEventListener("pageshow", function (event) {
    if (event.persisted && exitedTo()) quickExit();
  });

  function sameOriginUrl(href) {
    var url;
    try {
      url = new URL(href, document.baseURI);
    } catch (invalid) {
      return null;
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") return null;
    return url.origin === window.location.origin ? url : null;
  }

  function opensElsewhere(target) {
    return Boolean(target) && target.toLowerCase() !== "_self";
  }

  // Esc anywhere (capture phase: map widgets stop Esc from bubbling). Pages for signed-in
  // editors (<body data-esc-exit="double">) need a second Esc within ESC_REPEAT_MS, so that
  // a single Esc while typing does not throw away unsaved work.
  var ESC_REPEAT_MS = 1500;
  var lastEsc = -Infinity;

  function escLeaves(event) {
    if (!document.body || document.body.getAttribute("data-esc-exit") !== "double") return true;
    var repeated = event.timeStamp - lastEsc <= ESC_REPEAT_MS;
    lastEsc = event.timeStamp;
    return repeated;
  }

  window.addEventListener(
    "keydown",
    function (event) {
      if ((event.key === "Escape" || event.key === "Esc") && !event.isComposing) {
        if (escLeaves(event)) quickExit(event);
      }
    },
    true
  );

  // Bubble phase, so that the page's own handlers (Leaflet's controls) decide first.
  document.addEventListener("click", function (event) {
    var start = event.target;
    var link = start && start.closest ? start.closest("a[href], area[href]") : null;
    if (!link) return;
    if (link.hasAttribute("data-quick-exit")) {
      quickExit(event);
      return;
    }
    if (
      event.defaultPrevented ||
      event.button !== 0 ||
      event.ctrlKey ||
      event.metaKey ||
      event.shiftKey ||
      event.altKey ||
      link.hasAttribute("download") ||
      link.getAttribute("data-history") === "push" ||
      opensElsewhere(link.getAttribute("target"))
    ) {
      return;
    }
    var url = sameOriginUrl(link.getAttribute("href"));
    if (!url) return;
    event.preventDefault();
    window.location.replace(url.href);
  });

  document.addEventListener("submit", function (event) {
    var form = event.target;
    var submitter = event.submitter || null;
    if (event.defaultPrevented || !(form instanceof HTMLFormElement)) return;
    if (form.getAttribute("data-history") === "push") return;
    function attr(name, formName) {
      return submitter && submitter.hasAttribute(formName)
        ? submitter.getAttribute(formName)
        : form.getAttribute(name);
    }
    if ((attr("method", "formmethod") || "get").toLowerCase() !== "get") return;
    if (opensElsewhere(attr("target", "formtarget"))) return;
    // getAttribute, not form.action: a field named "action" would shadow the property.
    var url = sameOriginUrl(attr("action", "formaction") || window.location.href);
    if (!url) return;

    var data;
    try {
      data = new FormData(form, submitter);
    } catch (unsupported) {
      data = new FormData(form);
    }
    if (submitter && submitter.name && !data.has(submitter.name)) {
      data.append(submitter.name, submitter.value);
    }
    var query = new URLSearchParams();
    data.forEach(function (value, key) {
      query.append(key, typeof value === "string" ? value : value.name);
    });
    url.search = query.toString();
    event.preventDefault();
    window.location.replace(url.href);
  });
})();
