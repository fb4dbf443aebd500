// Planner what-if: a click on the map adds a hypothetical site (latitude, longitude, beds)
// to the view's URL; nothing is saved.
(function () {
  "use strict";
  var registry = JSON.parse(document.getElementById("map-registry").textContent);
  var map = window[registry.map];
  var form = document.getElementById("planner-form");
  if (!map || !form) { return; }
  map.on("click", function (event) {
    var beds = parseInt(document.getElementById("what-if-beds").value, 10) || 0;
    var site = document.createElement("input");
    site.type = "hidden";
    site.name = "add";
    site.value = [event.latlng.lat.toFixed(5), event.latlng.lng.toFixed(5), beds].join(",");
    form.appendChild(site);
    form.requestSubmit ? form.requestSubmit() : form.submit();
  });
})();
