// caremapReady(start): runs start once the page is parsed (at once if it already is). First of
// the app's scripts in each map page's bundle (webmap/common/bundle.py), which runs before the
// page's end, so that the scripts after it can wait for the elements they use.
window.caremapReady = function (start) {
  "use strict";
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
};
