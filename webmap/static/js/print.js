/* caremap referral sheet: the Print button (hidden until this script shows it, since it needs
 * JavaScript) opens the browser's print dialog. caremap.css's print rules hide it on paper. */
(function () {
  "use strict";
  document.querySelectorAll("[data-print]").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function () {
      window.print();
    });
  });
})();
